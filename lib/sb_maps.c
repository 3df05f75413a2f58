/* sb_maps.c: parse /proc/PID/maps and look addresses up in it. */
#include "sb_maps.h"
#include "sb_util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_line(const char *line, size_t len, struct sb_map *m)
{
	char perms[5] = "";
	unsigned long long start, end, off, ino;
	unsigned maj, min;
	int consumed = 0;
	const char *path;
	size_t plen;

	char head[160];

	memset(m, 0, sizeof(*m));
	/* sscanf on the whole maps text would measure all of it for every
	 * line (quadratic for a process with thousands of mappings): scan a
	 * copy of the line's head, where the numbers are. */
	memcpy(head, line, len < sizeof(head) - 1 ? len : sizeof(head) - 1);
	head[len < sizeof(head) - 1 ? len : sizeof(head) - 1] = '\0';
	if (sscanf(head, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms,
		   &off, &maj, &min, &ino, &consumed) != 7 ||
	    consumed <= 0 || (size_t)consumed > len || start >= end ||
	    strlen(perms) != 4)
		return -EINVAL;
	m->start = start;
	m->end = end;
	m->offset = off;
	m->dev_major = maj;
	m->dev_minor = min;
	m->inode = ino;
	m->r = perms[0] == 'r';
	m->w = perms[1] == 'w';
	m->x = perms[2] == 'x';
	m->shared = perms[3] == 's';
	path = line + consumed;
	while (path < line + len && *path == ' ')
		path++;
	/* A path can be as long as PATH_MAX: no fixed buffer. */
	plen = (size_t)(line + len - path);
	if (plen > 10 && memcmp(path + plen - 10, " (deleted)", 10) == 0) {
		m->deleted = true;
		plen -= 10;
	}
	m->path = strndup(path, plen);
	return m->path ? 0 : -ENOMEM;
}

int sb_maps_add(struct sb_maps *maps, const struct sb_map *m, const char *path)
{
	int err = sb_vec_reserve((void **)&maps->v, &maps->cap, maps->n + 1,
				 sizeof(*maps->v));

	if (err)
		return err;
	maps->v[maps->n] = *m;
	maps->v[maps->n].path = strdup(path ? path : "");
	if (!maps->v[maps->n].path)
		return -ENOMEM;
	maps->n++;
	return 0;
}

static int cmp_start(const void *a, const void *b)
{
	const struct sb_map *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

void sb_maps_sort(struct sb_maps *maps)
{
	if (maps->n > 1)
		qsort(maps->v, maps->n, sizeof(*maps->v), cmp_start);
}

int sb_maps_parse(const char *text, struct sb_maps *out)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct sb_map m;
		int err;

		if (len) {
			err = sb_vec_reserve((void **)&out->v, &out->cap,
					     out->n + 1, sizeof(*out->v));
			if (!err)
				err = parse_line(p, len, &m);
			if (err)
				return err;
			out->v[out->n++] = m;
		}
		p += len + (nl ? 1 : 0);
	}
	sb_maps_sort(out);
	return 0;
}

static int read_maps_file(const char *path, struct sb_maps *out)
{
	char *text;
	ssize_t r = sb_read_file_alloc(path, 64u << 20, &text);
	int err;

	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	err = sb_maps_parse(text, out);
	free(text);
	return err;
}

int sb_maps_read(pid_t pid, struct sb_maps *out)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int err;

	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = read_maps_file(path, out);
	if (err || out->n)
		return err;
	/* Empty: a zombie leader.  Any live thread shares the same mm. */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((de = readdir(dir)) && out->n == 0) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/maps",
			 (int)pid, de->d_name);
		/* Half a map is worse than none: binary search needs it
		 * whole and sorted. */
		if (read_maps_file(path, out)) {
			sb_maps_free(out);
			out->pid = pid;
		}
	}
	closedir(dir);
	return out->n ? 0 : -ESRCH;
}

const struct sb_map *sb_maps_find(const struct sb_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct sb_map *m = &maps->v[mid];

		if (addr < m->start)
			hi = mid;
		else if (addr >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

bool sb_map_same_file(const struct sb_map *a, const struct sb_map *b)
{
	if (a->inode && b->inode)
		return a->inode == b->inode && a->dev_major == b->dev_major &&
		       a->dev_minor == b->dev_minor;
	return a->path[0] && strcmp(a->path, b->path) == 0;
}

const struct sb_map *sb_maps_module_base(const struct sb_maps *maps,
					 const struct sb_map *m)
{
	const struct sb_map *best = NULL;
	size_t i;

	if (!m->path[0])
		return NULL;
	/*
	 * The header mapping is the closest offset-0 mapping of the same file
	 * at or below m: a library mapped twice (two namespaces) must not
	 * borrow the other copy's base.
	 */
	for (i = 0; i < maps->n && maps->v[i].start <= m->start; i++) {
		const struct sb_map *c = &maps->v[i];

		if (c->offset == 0 && sb_map_same_file(c, m))
			best = c;
	}
	return best;
}

void sb_maps_free(struct sb_maps *maps)
{
	size_t i;

	for (i = 0; i < maps->n; i++)
		free(maps->v[i].path);
	free(maps->v);
	memset(maps, 0, sizeof(*maps));
}
