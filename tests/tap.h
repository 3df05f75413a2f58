/* tap.h: a few macros that make a C program speak TAP for prove. */
#ifndef SB_TAP_H
#define SB_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
}

static inline int tap_ok(int cond, const char *file, int line, const char *name)
{
	tap_count++;
	printf("%sok %d - %s\n", cond ? "" : "not ", tap_count, name);
	if (!cond) {
		printf("#   failed at %s:%d\n", file, line);
		tap_failed++;
	}
	return cond;
}

#define ok(cond, name) tap_ok(!!(cond), __FILE__, __LINE__, (name))

#define is_int(got, want, name)                                               \
	do {                                                                  \
		long long got_ = (long long)(got), want_ = (long long)(want); \
		if (!ok(got_ == want_, name))                                 \
			printf("#   got %lld, want %lld\n", got_, want_);     \
	} while (0)

#define is_str(got, want, name)                                           \
	do {                                                              \
		const char *got_ = (got), *want_ = (want);                \
		if (!ok(got_ && want_ && strcmp(got_, want_) == 0, name)) \
			printf("#   got '%s', want '%s'\n",               \
			       got_ ? got_ : "(null)",                    \
			       want_ ? want_ : "(null)");                 \
	} while (0)

static inline int tap_done(void)
{
	printf("# %d of %d failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif
