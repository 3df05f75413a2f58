/* test_maps.c: /proc/PID/maps parsing and lookups. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sb_maps.h"
#include "tap.h"

static const char *sample =
	"55d0c8a00000-55d0c8a01000 r--p 00000000 fe:01 1234  /usr/bin/my prog\n"
	"55d0c8a01000-55d0c8a02000 r-xp 00001000 fe:01 1234  /usr/bin/my prog\n"
	"55d0c8a02000-55d0c8a03000 rw-p 00002000 fe:01 1234  /usr/bin/my prog\n"
	"55d0c9000000-55d0c9021000 rw-p 00000000 00:00 0      [heap]\n"
	"7f0000000000-7f0000001000 r--p 00000000 fe:01 99     /tmp/old.so (deleted)\n"
	"7f0000001000-7f0000002000 r-xp 00001000 fe:01 99     /tmp/old.so (deleted)\n"
	"7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n"
	"7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0      [vdso]\n";

int main(void)
{
	struct sb_maps maps = { 0 }, self = { 0 }, bad = { 0 };
	const struct sb_map *m, *base;

	tap_plan(23);
	is_int(sb_maps_parse(sample, &maps), 0, "sample parses");
	is_int(maps.n, 8, "eight mappings");
	m = sb_maps_find(&maps, 0x55d0c8a01234);
	ok(m && m->x && !m->w, "text mapping found, r-x");
	is_str(m ? m->path : NULL, "/usr/bin/my prog", "path with a space");
	is_int(m ? m->offset : 0, 0x1000, "file offset");
	base = m ? sb_maps_module_base(&maps, m) : NULL;
	ok(base && base->start == 0x55d0c8a00000, "module base is offset 0");
	m = sb_maps_find(&maps, 0x7f0000001800);
	ok(m && m->deleted, "deleted flag");
	is_str(m ? m->path : NULL, "/tmp/old.so", "(deleted) cut from path");
	m = sb_maps_find(&maps, 0x7f0000150000);
	ok(m && m->path[0] == '\0', "anonymous mapping has empty path");
	ok(m && sb_maps_module_base(&maps, m) == NULL,
	   "anonymous mapping has no module");
	m = sb_maps_find(&maps, 0x7ffd00000010);
	is_str(m ? m->path : NULL, "[vdso]", "vdso");
	ok(sb_maps_find(&maps, 0x1000) == NULL, "below all: NULL");
	ok(sb_maps_find(&maps, 0x55d0c8a03000) == NULL, "in a gap: NULL");
	ok(sb_maps_find(&maps, 0x55d0c8a02fff) != NULL, "last byte found");
	ok(sb_maps_parse("55d0-55c0 r-xp 0 fe:01 1 /x\n", &bad) < 0,
	   "end before start refused");
	sb_maps_free(&bad);
	ok(sb_maps_parse("not a maps line\n", &bad) < 0, "garbage refused");
	sb_maps_free(&bad);
	ok(sb_maps_parse("1000-2000 rwxp\n", &bad) < 0, "cut line refused");
	sb_maps_free(&bad);
	{
		/* A mapped path can be PATH_MAX long: no line limit. */
		size_t len = 5000;
		char *line = malloc(len + 100), *p;
		struct sb_maps big = { 0 };

		p = line + sprintf(line, "1000-2000 r-xp 0 fe:01 7 /");
		memset(p, 'a', len);
		p[len] = '\n';
		p[len + 1] = '\0';
		is_int(sb_maps_parse(line, &big), 0, "a 5000-byte path parses");
		ok(big.n == 1 && strlen(big.v[0].path) == len + 1,
		   "and is kept whole");
		sb_maps_free(&big);
		free(line);
	}
	is_int(sb_maps_read(getpid(), &self), 0, "own maps read");
	m = sb_maps_find(&self, (uint64_t)(uintptr_t)&main);
	ok(m && m->x, "main is in an executable mapping");
	ok(m && sb_maps_module_base(&self, m) != NULL, "own module base");
	is_int(sb_maps_read(999999999, &bad), -ESRCH, "missing process");
	sb_maps_free(&bad);
	sb_maps_free(&self);
	sb_maps_free(&maps);
	return tap_done();
}
