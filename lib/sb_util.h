/* sb_util.h: small helpers every module uses: clocks, reading /proc files. */
#ifndef SB_UTIL_H
#define SB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic clock in nanoseconds. */
uint64_t sb_now_ns(void);

/*
 * Read a whole small file (a /proc text file) into buf, NUL-terminated.
 * Returns the length read, or -errno.  Text longer than size - 1 is cut
 * and reported as -EFBIG, so callers never parse half a line unknowingly.
 */
ssize_t sb_read_file(const char *path, char *buf, size_t size);

/* Same, relative to a directory descriptor (openat). */
ssize_t sb_read_file_at(int dirfd, const char *path, char *buf, size_t size);

/*
 * Read a file of unknown size into a malloc'ed, NUL-terminated buffer,
 * at most max bytes.  The caller frees *out.  Returns the length or -errno.
 */
ssize_t sb_read_file_alloc(const char *path, size_t max, char **out);

/*
 * Parse a whole number from the command line: all of s, finite, within
 * [min, max].  0, or -EINVAL (junk, a fraction for a long, out of range).
 */
int sb_parse_double(const char *s, double min, double max, double *out);
int sb_parse_long(const char *s, long min, long max, long *out);

/* Grow a vector of elements of size elem to hold at least n; -ENOMEM. */
int sb_vec_reserve(void **v, size_t *cap, size_t n, size_t elem);

#endif
