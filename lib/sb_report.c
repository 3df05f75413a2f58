/* sb_report.c: frames in words, in JSON, and as folded stack elements. */
#include "sb_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool sb_report_use_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fileno(f)) && !(nc && *nc);
}

const char *sb_report_module_name(const char *path)
{
	const char *slash;

	if (!path)
		return "?";
	slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

const char *sb_report_frame_name(const struct sb_symbol_info *s, char *buf,
				 size_t size)
{
	if (s->function)
		return s->function;
	if (s->module)
		snprintf(buf, size, "%s+0x%" PRIx64,
			 sb_report_module_name(s->module), s->module_offset);
	else
		snprintf(buf, size, "0x%" PRIx64, s->addr);
	return buf;
}

const char *sb_report_file_line(const struct sb_symbol_info *s, char *buf,
				size_t size)
{
	const char *base;

	if (!s->file || s->line <= 0) {
		buf[0] = '\0';
		return buf;
	}
	base = strrchr(s->file, '/');
	snprintf(buf, size, "%s:%d", base ? base + 1 : s->file, s->line);
	return buf;
}

void sb_report_frame_text(FILE *f, int index, const struct sb_symbol_info *s,
			  const char *indent)
{
	char name[512], fl[512];

	sb_report_file_line(s, fl, sizeof(fl));
	fprintf(f, "%s#%-2d 0x%012" PRIx64 " ", indent, index, s->addr);
	if (s->function) {
		fprintf(f, "%s+0x%" PRIx64, s->function, s->offset);
		if (fl[0])
			fprintf(f, " (%s)", fl);
		fprintf(f, " in %s\n", sb_report_module_name(s->module));
	} else {
		fprintf(f, "%s", sb_report_frame_name(s, name, sizeof(name)));
		if (s->build_id)
			fprintf(f, " (build-id %s)", s->build_id);
		fputc('\n', f);
	}
}

json_object *sb_report_hex(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *sb_report_frame_json(const struct sb_symbol_info *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "addr", sb_report_hex(s->addr));
	json_object_object_add(o, "function", str_or_null(s->function));
	json_object_object_add(o, "offset",
			       s->function ? sb_report_hex(s->offset) : NULL);
	json_object_object_add(o, "file", str_or_null(s->file));
	json_object_object_add(
		o, "line", s->line > 0 ? json_object_new_int(s->line) : NULL);
	json_object_object_add(o, "module", str_or_null(s->module));
	json_object_object_add(o, "module_offset",
			       s->module ? sb_report_hex(s->module_offset) :
					   NULL);
	json_object_object_add(o, "build_id", str_or_null(s->build_id));
	return o;
}
