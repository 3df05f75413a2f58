/* test_syms.c: the symbolizer against nm, gaps, return addresses, lines. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb_maps.h"
#include "sb_syms.h"
#include "tap.h"

struct nm_sym {
	uint64_t value, size;
	char name[256];
};

static int marker_line = __LINE__ + 2;
__attribute__((noinline)) int marker_function(int x);
__attribute__((noinline)) int marker_function(int x)
{
	return x * 3 + 1;
}

static int cmp_value(const void *a, const void *b)
{
	const struct nm_sym *x = a, *y = b;

	return (x->value > y->value) - (x->value < y->value);
}

/* The functions of our own executable, as nm sees them. */
static int read_nm(const char *exe, struct nm_sym **out)
{
	char cmd[4200], line[512];
	struct nm_sym *v = NULL;
	int n = 0, cap = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", exe);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		struct nm_sym s;
		char type;

		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c %255s", &s.value,
			   &s.size, &type, s.name) != 4 ||
		    (type != 'T' && type != 't') || s.size == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = realloc(v, (size_t)cap * sizeof(*v));
		}
		v[n++] = s;
	}
	pclose(p);
	qsort(v, (size_t)n, sizeof(*v), cmp_value);
	*out = v;
	return n;
}

int main(void)
{
	struct sb_maps maps = { 0 };
	struct sb_symbol_info info;
	struct sb_syms *syms;
	struct nm_sym *nm = NULL;
	char exe[4096];
	ssize_t len;
	uint64_t bias = 0;
	int n, i, bad = 0, checked = 0, gap = -1;

	tap_plan(16);
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = '\0';
	n = read_nm(exe, &nm);
	ok(n > 20, "nm lists our functions");
	for (i = 0; i < n; i++)
		if (strcmp(nm[i].name, "marker_function") == 0)
			bias = (uint64_t)(uintptr_t)&marker_function -
			       nm[i].value;
	ok(bias != 0, "load bias from a known function");
	is_int(sb_maps_read(getpid(), &maps), 0, "own maps");
	syms = sb_syms_new(getpid(), NULL);
	ok(syms != NULL, "symbolizer created");

	/* Every function nm knows, looked up in its middle. */
	for (i = 0; i < n; i++) {
		uint64_t mid = bias + nm[i].value + nm[i].size / 2;
		int j;
		bool named = false;

		sb_syms_lookup(syms, &maps, mid, true, &info);
		checked++;
		/* Aliases share an address: any of their names is right. */
		for (j = 0; j < n && info.function; j++)
			if (nm[j].value == nm[i].value &&
			    strncmp(nm[j].name, info.function,
				    strlen(info.function)) == 0)
				named = true;
		if (!named || info.offset != nm[i].size / 2) {
			if (bad++ < 5)
				printf("# %s: got %s+0x%" PRIx64 "\n",
				       nm[i].name,
				       info.function ? info.function : "(none)",
				       info.offset);
		}
		if (i + 1 < n && gap < 0 &&
		    nm[i].value + nm[i].size < nm[i + 1].value)
			gap = i;
	}
	ok(checked == n && bad == 0, "every nm function named, right offset");

	/* Padding between two functions belongs to neither. */
	ok(gap >= 0, "found padding between functions");
	if (gap >= 0) {
		uint64_t a = bias + nm[gap].value + nm[gap].size;

		sb_syms_lookup(syms, &maps, a, true, &info);
		ok(info.function == NULL, "padding has no function name");
		ok(info.module && strcmp(info.module, exe) == 0,
		   "padding still has its module");
		is_int(info.module_offset, nm[gap].value + nm[gap].size,
		       "module offset is the ELF address");
		ok(info.build_id && strlen(info.build_id) == 40,
		   "build-id of the module");
	} else {
		for (i = 0; i < 4; i++)
			ok(0, "no gap to test");
	}

	/*
	 * A return address equal to the next function's start is never that
	 * function's: the call was the last instruction before it.
	 */
	for (i = 0; i + 1 < n; i++) {
		uint64_t a = bias + nm[i + 1].value;

		sb_syms_lookup(syms, &maps, a, false, &info);
		/* Compare where the symbol starts: names repeat (sanitizer
		 * builds have a module_ctor per file). */
		if (info.function &&
		    info.module_offset - info.offset == nm[i + 1].value)
			break;
	}
	ok(i + 1 >= n, "a return address is looked up one byte earlier");
	sb_syms_lookup(syms, &maps, bias + nm[1].value, true, &info);
	ok(info.function && strcmp(info.function, nm[1].name) == 0,
	   "the same address as an instruction names the function there");
	sb_syms_lookup(syms, &maps, (uint64_t)(uintptr_t)&marker_function, true,
		       &info);
	ok(info.file && strstr(info.file, "test_syms.c"), "file from DWARF");
	/* Optimised code may start on the body's line, not the header's. */
	if (!ok(info.line >= marker_line && info.line <= marker_line + 3,
		"line within the function"))
		printf("# got line %d, want %d\n", info.line, marker_line);

	sb_syms_lookup(syms, &maps, (uint64_t)(uintptr_t)&getpid + 1, true,
		       &info);
	ok(info.function && strstr(info.function, "getpid"),
	   "a libc function is named");
	ok(sb_syms_lookup(syms, &maps, 16, true, &info) == -ENOENT &&
		   info.module == NULL,
	   "an address outside every mapping: -ENOENT");
	sb_syms_free(syms);
	sb_maps_free(&maps);
	free(nm);
	return tap_done();
}
