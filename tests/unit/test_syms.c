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

/* Whether two lookups agree: same name (or none) and offset. */
static bool same_name(const char *a, uint64_t aoff, const char *b,
		      uint64_t boff)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0 && aoff == boff;
}

/*
 * A module's first lookups scan its symbol tables, later ones search them
 * sorted (LAZY_SCANS in sb_syms.c, 32).  Two symbolizers asking for the
 * same NPROBE addresses of libc in opposite orders answer each address
 * once each way: the answers must agree.  Returns the disagreements.
 */
#define NPROBE 240
static int scan_vs_table(const struct sb_maps *maps, bool data, int *named)
{
	const struct sb_map *m = NULL;
	struct sb_syms *a = sb_syms_new(getpid(), NULL);
	struct sb_syms *b = sb_syms_new(getpid(), NULL);
	const char *an[NPROBE], *bn[NPROBE];
	uint64_t addr[NPROBE], ao[NPROBE], bo[NPROBE], lo = 0, hi = 0;
	int i, bad = 0;
	size_t k;

	*named = 0;
	/* By name: in a sanitizer build &getpid is libasan's. */
	for (k = 0; k < maps->n && !m; k++)
		if (maps->v[k].x && strstr(maps->v[k].path, "/libc.so"))
			m = &maps->v[k];
	if (!m || !a || !b) {
		sb_syms_free(a);
		sb_syms_free(b);
		return -1;
	}
	/* Code: libc's text; data: its writable mappings and the .bss
	 * after them. */
	for (k = 0; k < maps->n; k++) {
		const struct sb_map *x = &maps->v[k];
		bool mine = strcmp(x->path, m->path) == 0 ||
			    (k > 0 && !x->path[0] &&
			     strcmp(maps->v[k - 1].path, m->path) == 0 &&
			     maps->v[k - 1].end == x->start);

		if (!mine || (data ? !x->w : !x->x))
			continue;
		if (!lo)
			lo = x->start;
		hi = x->end;
	}
	for (i = 0; i < NPROBE; i++)
		addr[i] = lo + (hi - lo) / NPROBE * (uint64_t)i +
			  (uint64_t)(i % 7) * 3;
	for (i = 0; i < NPROBE; i++) {
		struct sb_symbol_info info;
		int j = NPROBE - 1 - i;

		if (data) {
			if (sb_syms_data(a, maps, addr[i], &an[i], &ao[i]))
				an[i] = NULL, ao[i] = 0;
			if (sb_syms_data(b, maps, addr[j], &bn[j], &bo[j]))
				bn[j] = NULL, bo[j] = 0;
			continue;
		}
		sb_syms_lookup(a, maps, addr[i], i % 2, &info);
		an[i] = info.function;
		ao[i] = info.offset;
		sb_syms_lookup(b, maps, addr[j], j % 2, &info);
		bn[j] = info.function;
		bo[j] = info.offset;
	}
	for (i = 0; i < NPROBE; i++) {
		*named += an[i] != NULL;
		if (same_name(an[i], ao[i], bn[i], bo[i]))
			continue;
		if (bad++ < 5)
			printf("# 0x%" PRIx64 ": %s+0x%" PRIx64
			       " one way, %s+0x%" PRIx64 " the other\n",
			       addr[i], an[i] ? an[i] : "(none)", ao[i],
			       bn[i] ? bn[i] : "(none)", bo[i]);
	}
	sb_syms_free(a);
	sb_syms_free(b);
	return bad;
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

	tap_plan(20);
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

	is_int(scan_vs_table(&maps, false, &n), 0,
	       "libc's functions: scanned and sorted tables agree");
	ok(n > NPROBE / 2, "most probes in libc's text are named");
	is_int(scan_vs_table(&maps, true, &n), 0,
	       "libc's data: scanned and sorted tables agree");
	ok(n > 0, "some probes in libc's data are named");
	sb_maps_free(&maps);
	free(nm);
	return tap_done();
}
