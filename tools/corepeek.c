/* corepeek: why did it crash — from a core file, in plain words, first. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <langinfo.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb_catch.h"
#include "sb_core.h"
#include "sb_crash.h"
#include "sb_report.h"
#include "sb_syms.h"
#include "sb_util.h"

#define EXIT_TROUBLE 2
#define EXIT_USAGE 64
#define MAX_VDSO (1u << 20)

/* Where the report comes from: a core file, or a process caught live. */
struct origin {
	const char *source; /* "core 'core.42'" or "process" */
	pid_t pid;
	const char *comm;
	const char *cmdline;
	const char *exe;
};

struct opts {
	bool json;
	bool all;
	bool run;
	const char *outdir;
	char **argv; /* run: the program and its arguments */
	const char *exe;
	const char *sysroot;
	const char *core;
};

static const char *arrow = "<-", *times = "x";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: corepeek [-aj] [-e executable] [--sysroot dir] core\n"
		"       corepeek run [-aj] [-o dir] -- program [args...]\n"
		"\n"
		"Why a process crashed, from its core file, or caught as it "
		"happens.\n"
		"\n"
		"  -a, --all              every thread in full\n"
		"  -j, --json             one JSON document\n"
		"  -e, --executable file  the executable, if it has moved\n"
		"      --sysroot dir      find mapped files under dir (a core "
		"from another machine)\n"
		"  -o, --output dir       run: also write the report into dir\n"
		"  -h, --help             this help\n"
		"  -V, --version          the version\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "executable", required_argument, NULL, 'e' },
		{ "sysroot", required_argument, NULL, 'S' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	if (argc > 1 && strcmp(argv[1], "run") == 0) {
		o->run = true;
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, o->run ? "+ajo:hV" : "aje:hV",
				longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'e':
			o->exe = optarg;
			break;
		case 'S':
			o->sysroot = optarg;
			break;
		case 'o':
			o->outdir = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("corepeek (sickbay) %s\n", SB_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (o->run && (o->exe || o->sysroot)) {
		warnx("run: %s is for a core file, not a program run here",
		      o->exe ? "--executable" : "--sysroot");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (!o->run && o->outdir) {
		warnx("--output is for corepeek run");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (o->run) {
		if (optind == argc) {
			warnx("run: no program given");
			usage(stderr);
			exit(EXIT_USAGE);
		}
		o->argv = argv + optind;
		return;
	}
	if (optind + 1 != argc) {
		warnx(optind == argc ? "no core file given" :
				       "one core file at a time");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	o->core = argv[optind];
}

/*
 * Names are only as good as the files they come from: a library upgraded
 * since the crash has other code at the same offsets.  Compare each
 * module's build-id in the core with the file's, and say what differs.
 */
static bool check_modules(struct sb_core *core, struct sb_syms *syms)
{
	struct sb_memsrc mem = sb_core_memsrc(core);
	bool fine = true;
	size_t i;

	for (i = 0; i < core->maps.n; i++) {
		const struct sb_map *m = &core->maps.v[i];
		char in_core[130] = "";
		const char *on_disk;
		char *path;

		if (m->offset != 0 || m->path[0] != '/')
			continue;
		/* Only programs and libraries: a data file, a locale
		 * archive or shared memory mapped from offset 0 has no code
		 * to name (the core keeps each ELF file's first page). */
		if (mem.read(mem.ctx, m->start, in_core, 4) != 4 ||
		    memcmp(in_core, "\177ELF", 4) != 0)
			continue;
		in_core[0] = '\0';
		path = sb_core_file_path(core, m->path);
		if (sb_syms_module(syms, m, &on_disk)) {
			warnx("cannot read '%s' (mapped as %s): its frames "
			      "are shown as module+offset%s",
			      path ? path : m->path, m->path,
			      m->path == core->exe || (core->exe &&
						       strcmp(m->path,
							      core->exe) == 0) ?
				      "; if the program moved, give it with -e" :
				      "; a core from another machine needs "
				      "--sysroot");
			fine = false;
		} else if (sb_core_mem_build_id(&mem, m->start, in_core,
						sizeof(in_core)) == 0 &&
			   on_disk && strcmp(in_core, on_disk) != 0) {
			warnx("'%s' is not the file that crashed (build-id %s "
			      "in the core, %s on disk): its frames are shown "
			      "as module+offset, not with wrong names",
			      path ? path : m->path, in_core, on_disk);
			sb_syms_withhold(syms, m);
			fine = false;
		}
		free(path);
	}
	return fine;
}

/* The vDSO has no file: its image is in the core. */
static void add_vdso(struct sb_core *core, struct sb_syms *syms)
{
	struct sb_memsrc mem = sb_core_memsrc(core);
	const struct sb_map *m = sb_maps_find(&core->maps, core->vdso);
	size_t size;
	void *img;

	if (!core->vdso || !m || m->end - m->start > MAX_VDSO)
		return;
	size = (size_t)(m->end - m->start);
	img = malloc(size);
	if (img && mem.read(mem.ctx, m->start, img, size) == (ssize_t)size)
		sb_syms_add_image(syms, "[vdso]", img, size);
	free(img);
}

static void print_frames(FILE *f, const struct sb_crash_thread *t,
			 const char *indent)
{
	int i, j;

	for (i = 0; i < t->nframes; i++) {
		sb_report_frame_text(f, i, &t->frames[i].sym, indent);
		for (j = i + 1; j < t->nframes &&
				sb_sym_frame_same(&t->frames[j], &t->frames[i]);
		     j++)
			;
		/* Recursion: one line for the run, then its last frame. */
		if (j - i > 3) {
			char name[256];

			fprintf(f, "%s... %s %s %d (#%d to #%d)\n", indent,
				sb_report_frame_name(&t->frames[i].sym, name,
						     sizeof(name)),
				times, j - i - 2, i + 1, j - 2);
			i = j - 2;
		}
	}
	if (t->end != SB_STACK_END_OUTERMOST)
		fprintf(f, "%s(stack ends: %s)\n", indent,
			sb_stack_end_str(t->end));
}

static void chain(FILE *f, const struct sb_crash_thread *t)
{
	char name[256];
	int i, shown = 0;

	for (i = 0; i < t->nframes && shown < 4; i++) {
		if (i && sb_sym_frame_same(&t->frames[i], &t->frames[i - 1]))
			continue;
		fprintf(f, "%s%s", shown ? " " : "", shown ? arrow : "");
		fprintf(f, "%s%s", shown ? " " : "",
			sb_report_frame_name(&t->frames[i].sym, name,
					     sizeof(name)));
		shown++;
	}
	if (i < t->nframes)
		fprintf(f, " %s ...", arrow);
}

static void print_text(FILE *f, const struct origin *core,
		       const struct sb_crash_report *r, const struct opts *o)
{
	const struct sb_crash_thread *t = &r->threads[0];
	const char *code = sb_crash_code_name(r->signo, r->code);
	bool color = sb_report_use_color(f);
	int g, i;

	fprintf(f, "%s%s%s\n", color ? "\033[1m" : "", r->summary,
		color ? "\033[0m" : "");
	fprintf(f, "%s: pid %d '%s' (%s), %d thread%s\n", core->source,
		(int)core->pid, core->comm, core->cmdline, r->nthreads,
		r->nthreads == 1 ? "" : "s");
	fprintf(f, "signal %s (%s", sb_crash_signal_name(r->signo),
		strsignal(r->signo));
	if (code)
		fprintf(f, ", %s", code);
	else
		fprintf(f, ", code %d", r->code);
	fputc(')', f);
	if (r->code > 0)
		fprintf(f, " at address 0x%llx", (unsigned long long)r->addr);
	else if (r->sender_pid == core->pid)
		fprintf(f, " sent by the process itself");
	else
		fprintf(f, " sent by pid %d (uid %u)", (int)r->sender_pid,
			(unsigned)r->sender_uid);
	fprintf(f, "; cause %s; signature %s\n", sb_crash_cause_str(r->cause),
		r->signature);
	if (r->abort_message[0])
		fprintf(f, "glibc: %s\n", r->abort_message);
	fprintf(f, "\ncrashed thread %d%s%s%s:\n", (int)t->tid,
		t->name[0] ? " '" : "", t->name, t->name[0] ? "'" : "");
	print_frames(f, t, "    ");
	if (r->nthreads < 2)
		return;
	fprintf(f, "\nother threads: %d", r->nthreads - 1);
	if (o->all) {
		fputs("\n", f);
		for (i = 1; i < r->nthreads; i++) {
			const struct sb_crash_thread *ti = &r->threads[i];

			fprintf(f, "\nthread %d%s%s%s:\n", (int)ti->tid,
				ti->name[0] ? " '" : "", ti->name,
				ti->name[0] ? "'" : "");
			print_frames(f, ti, "    ");
		}
		return;
	}
	fprintf(f, ", %d distinct stack%s (-a shows each thread)\n", r->ngroups,
		r->ngroups == 1 ? "" : "s");
	for (g = 0; g < r->ngroups; g++) {
		const struct sb_crash_thread *first = NULL;
		int count = 0;

		for (i = 1; i < r->nthreads; i++) {
			if (r->threads[i].group != g)
				continue;
			if (!first)
				first = &r->threads[i];
			count++;
		}
		if (!first)
			continue;
		fprintf(f, "  %4d %s ", count, times);
		chain(f, first);
		if (count == 1)
			fprintf(f, "  [thread %d]", (int)first->tid);
		fputc('\n', f);
	}
}

/*
 * Frames as the text shows them: in a run of more than three of the same
 * frame (recursion), the first and the last as they are, and the ones
 * between as one frame with how many times it repeats.
 */
static json_object *stack_json(const struct sb_crash_thread *t)
{
	json_object *a = json_object_new_array(), *frame;
	int i, j;

	for (i = 0; i < t->nframes; i++) {
		json_object_array_add(a,
				      sb_report_frame_json(&t->frames[i].sym));
		for (j = i + 1; j < t->nframes &&
				sb_sym_frame_same(&t->frames[j], &t->frames[i]);
		     j++)
			;
		if (j - i > 3) {
			frame = sb_report_frame_json(&t->frames[i + 1].sym);
			json_object_object_add(frame, "repeat",
					       json_object_new_int(j - i - 2));
			json_object_array_add(a, frame);
			i = j - 2;
		}
	}
	return a;
}

static json_object *thread_json(const struct sb_crash_thread *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tid", json_object_new_int(t->tid));
	json_object_object_add(
		o, "name", t->name[0] ? json_object_new_string(t->name) : NULL);
	json_object_object_add(o, "stack", stack_json(t));
	json_object_object_add(
		o, "stack_end",
		json_object_new_string(sb_stack_end_str(t->end)));
	return o;
}

static void print_json(FILE *f, const struct origin *core,
		       const struct sb_crash_report *r, bool complete)
{
	json_object *doc = json_object_new_object(), *sig, *threads;
	const char *code = sb_crash_code_name(r->signo, r->code);
	int i;

	json_object_object_add(doc, "tool", json_object_new_string("corepeek"));
	json_object_object_add(doc, "version",
			       json_object_new_string(SB_VERSION));
	json_object_object_add(doc, "pid", json_object_new_int(core->pid));
	json_object_object_add(doc, "source",
			       json_object_new_string(core->source));
	json_object_object_add(doc, "executable",
			       core->exe ? json_object_new_string(core->exe) :
					   NULL);
	json_object_object_add(doc, "command",
			       json_object_new_string(core->cmdline));
	sig = json_object_new_object();
	json_object_object_add(sig, "number", json_object_new_int(r->signo));
	json_object_object_add(
		sig, "name",
		json_object_new_string(sb_crash_signal_name(r->signo)));
	json_object_object_add(sig, "code",
			       code ? json_object_new_string(code) :
				      json_object_new_int(r->code));
	json_object_object_add(sig, "addr",
			       r->code > 0 ? sb_report_hex(r->addr) : NULL);
	json_object_object_add(sig, "sender_pid",
			       r->sender_pid && r->code <= 0 ?
				       json_object_new_int(r->sender_pid) :
				       NULL);
	json_object_object_add(doc, "signal", sig);
	json_object_object_add(
		doc, "cause",
		json_object_new_string(sb_crash_cause_str(r->cause)));
	json_object_object_add(doc, "summary",
			       json_object_new_string(r->summary));
	json_object_object_add(
		doc, "abort_message",
		r->abort_message[0] ? json_object_new_string(r->abort_message) :
				      NULL);
	json_object_object_add(doc, "signature",
			       json_object_new_string(r->signature));
	json_object_object_add(doc, "complete",
			       json_object_new_boolean(complete));
	json_object_object_add(doc, "crashed_thread",
			       thread_json(&r->threads[0]));
	threads = json_object_new_array();
	for (i = 0; i < r->nthreads; i++)
		json_object_array_add(threads, thread_json(&r->threads[i]));
	json_object_object_add(doc, "threads", threads);
	fprintf(f, "%s\n",
		json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
}

static void emit(FILE *f, const struct origin *from,
		 const struct sb_crash_report *r, const struct opts *o,
		 bool complete)
{
	if (o->json)
		print_json(f, from, r, complete);
	else
		print_text(f, from, r, o);
}

/* The usual report, from a core file. */
static int peek_core(const struct opts *o)
{
	struct sb_core_opts copts = { .sysroot = o->sysroot, .exe = o->exe };
	struct sb_crash_input in = { 0 };
	struct sb_crash_report rep;
	struct user_regs_struct *regs;
	struct sb_core *core;
	struct sb_syms *syms;
	struct origin from;
	char errbuf[512], source[4200];
	const char **names;
	pid_t *tids;
	bool complete;
	int rc, i;

	rc = sb_core_open(o->core, &copts, &core, errbuf, sizeof(errbuf));
	if (rc)
		errx(EXIT_TROUBLE, "%s", errbuf);
	complete = core->complete == 0;
	if (!complete)
		warnx("%s", core->problem);
	if (!core->sig.present)
		warnx("'%s' has no NT_SIGINFO note: the signal's details are "
		      "unknown (a core from a very old kernel, or made by "
		      "gcore?)",
		      o->core);
	syms = sb_syms_new(0, o->sysroot);
	if (!syms)
		errx(EXIT_TROUBLE, "out of memory");
	/* glibc's compressed DWARF would cost most of the run for lines of
	 * abort() and start_thread: lines for the program's own code. */
	sb_syms_set_lines(syms, SB_SYMS_LINES_PROGRAM);
	if (o->exe && core->exe)
		sb_syms_set_file(syms, core->exe, o->exe);
	add_vdso(core, syms);
	complete &= check_modules(core, syms);

	tids = calloc((size_t)core->nthreads, sizeof(*tids));
	regs = calloc((size_t)core->nthreads, sizeof(*regs));
	names = calloc((size_t)core->nthreads, sizeof(*names));
	if (!tids || !regs || !names)
		errx(EXIT_TROUBLE, "out of memory");
	for (i = 0; i < core->nthreads; i++) {
		tids[i] = core->threads[i].tid;
		regs[i] = core->threads[i].regs;
		/* A core keeps the process's name, not its threads'. */
		names[i] = tids[i] == core->pid ? core->fname : NULL;
	}
	in.pid = core->pid;
	in.uid = core->uid;
	in.exe = core->exe;
	in.comm = core->fname;
	in.maps = &core->maps;
	in.mem = sb_core_memsrc(core);
	in.syms = syms;
	in.nthreads = core->nthreads;
	in.tids = tids;
	in.names = names;
	in.regs = regs;
	in.signo = core->sig.present ? core->sig.signo : 0;
	in.code = core->sig.code;
	in.addr = core->sig.addr;
	in.sender_pid = core->sig.sender_pid;
	in.sender_uid = core->sig.sender_uid;
	rc = sb_crash_analyze(&in, &rep);
	if (rc)
		errx(EXIT_TROUBLE, "cannot analyze '%s': %s", o->core,
		     strerror(-rc));
	snprintf(source, sizeof(source), "core '%s'", o->core);
	from = (struct origin){ .source = source,
				.pid = core->pid,
				.comm = core->fname,
				.cmdline = core->psargs,
				.exe = core->exe };
	emit(stdout, &from, &rep, o, complete);
	sb_crash_report_free(&rep);
	free(tids);
	free(regs);
	free(names);
	sb_syms_free(syms);
	sb_core_close(core);
	if (fflush(stdout) || ferror(stdout))
		err(EXIT_TROUBLE, "write error on standard output");
	return complete ? 0 : EXIT_TROUBLE;
}

/* Read /proc/PID/<file> as text, NULs as spaces (cmdline). */
static void proc_text(pid_t pid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t n, i;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	n = sb_read_file(path, buf, size);
	if (n == -EFBIG)
		n = (ssize_t)size - 1;
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}

/* Called by sb_catch_run while every thread of the crashing program is
 * stopped: the same report as from a core, from the live process. */
static void on_crash(void *ctx, const struct sb_catch_crash *c)
{
	const struct opts *o = ctx;
	struct sb_crash_input in = { 0 };
	struct sb_crash_report rep;
	struct sb_maps maps;
	struct sb_syms *syms;
	struct origin from;
	char comm[64], cmdline[512], exe[4096], path[4200];
	const char **names;
	ssize_t n;
	int i;

	if (sb_maps_read(c->pid, &maps)) {
		warnx("cannot read the maps of process %d", (int)c->pid);
		return;
	}
	syms = sb_syms_new(c->pid, NULL);
	names = calloc((size_t)c->nthreads, sizeof(*names));
	if (!syms || !names) {
		warnx("out of memory");
		goto out;
	}
	sb_syms_set_lines(syms, SB_SYMS_LINES_PROGRAM);
	for (i = 0; i < c->nthreads; i++)
		names[i] = c->names[i];
	proc_text(c->pid, "comm", comm, sizeof(comm));
	proc_text(c->pid, "cmdline", cmdline, sizeof(cmdline));
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)c->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	in.pid = c->pid;
	in.exe = exe[0] ? exe : NULL;
	in.comm = comm;
	in.maps = &maps;
	in.mem = sb_memsrc_live(c->pid);
	in.syms = syms;
	in.nthreads = c->nthreads;
	in.tids = c->tids;
	in.names = names;
	in.regs = c->regs;
	in.signo = c->signo;
	in.code = c->code;
	in.addr = c->addr;
	in.sender_pid = c->sender_pid;
	in.sender_uid = c->sender_uid;
	if (sb_crash_analyze(&in, &rep)) {
		warnx("out of memory");
		goto out;
	}
	from = (struct origin){ .source = "caught live",
				.pid = c->pid,
				.comm = comm,
				.cmdline = cmdline,
				.exe = in.exe };
	/* stdout belongs to the program; the report goes to stderr. */
	emit(stderr, &from, &rep, o, true);
	if (o->outdir) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/corepeek-%d.%s", o->outdir,
			 (int)c->pid, o->json ? "json" : "txt");
		f = fopen(path, "w");
		if (!f)
			warn("cannot write the report to '%s'", path);
		if (f) {
			emit(f, &from, &rep, o, true);
			if (fclose(f))
				warn("cannot write the report to '%s'", path);
		}
	}
	sb_crash_report_free(&rep);
out:
	free(names);
	sb_syms_free(syms);
	sb_maps_free(&maps);
}

/* corepeek run: start the program, catch its crash, die as it does. */
static int run_and_catch(const struct opts *o)
{
	struct sb_catch_result res;
	int rc;

	rc = sb_catch_run(o->argv, on_crash, (void *)(uintptr_t)o, &res);
	if (rc == -ENOENT || rc == -EACCES)
		errx(127, "cannot run '%s': %s", o->argv[0], strerror(-rc));
	if (rc)
		errx(EXIT_TROUBLE, "cannot trace '%s': %s", o->argv[0],
		     strerror(-rc));
	if (res.signaled) {
		if (!res.caught)
			warnx("'%s' was killed by %s", o->argv[0],
			      sb_crash_signal_name(res.status));
		else if (res.core_dumped)
			warnx("'%s' died of %s (core dumped)", o->argv[0],
			      sb_crash_signal_name(res.status));
		return 128 + res.status;
	}
	return res.status;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };

	parse_opts(argc, argv, &o);
	setlocale(LC_ALL, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") == 0) {
		arrow = "\u2190";
		times = "\u00d7";
	}
	return o.run ? run_and_catch(&o) : peek_core(&o);
}
