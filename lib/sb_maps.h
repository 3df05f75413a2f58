/* sb_maps.h: the memory mappings of a process, from /proc/PID/maps. */
#ifndef SB_MAPS_H
#define SB_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sb_map {
	uint64_t start, end; /* [start, end) */
	uint64_t offset; /* file offset of start */
	uint64_t inode;
	unsigned dev_major, dev_minor;
	bool r, w, x, shared;
	char *path; /* "" for anonymous; "[vdso]", "[stack]", ... */
	bool deleted; /* the file was replaced or removed */
};

struct sb_maps {
	struct sb_map *v; /* sorted by start */
	size_t n, cap;
	pid_t pid; /* 0 when not from a live process */
};

/*
 * Read /proc/PID/maps.  A zombie leader (main thread gone, others alive)
 * shows empty maps, so then the maps of a live thread are read instead.
 * Returns 0, -ESRCH, -EACCES or -errno; free with sb_maps_free().
 */
int sb_maps_read(pid_t pid, struct sb_maps *out);

/*
 * Parse maps text.  Malformed lines are an error (-EINVAL), not skipped:
 * a half-understood map would put frames in the wrong module.
 */
int sb_maps_parse(const char *text, struct sb_maps *out);

/* Append one mapping (used by core readers), with a copy of path. */
int sb_maps_add(struct sb_maps *maps, const struct sb_map *m, const char *path);

/* Sort by start after sb_maps_add calls. */
void sb_maps_sort(struct sb_maps *maps);

/* The mapping containing addr, or NULL. */
const struct sb_map *sb_maps_find(const struct sb_maps *maps, uint64_t addr);

/*
 * The lowest mapping of the same file as m with file offset 0: where its
 * ELF header is.  NULL if none (anonymous memory, or header not mapped).
 */
const struct sb_map *sb_maps_module_base(const struct sb_maps *maps,
					 const struct sb_map *m);

/* Whether two mappings come from the same file (path, or dev+inode). */
bool sb_map_same_file(const struct sb_map *a, const struct sb_map *b);

void sb_maps_free(struct sb_maps *maps);

#endif
