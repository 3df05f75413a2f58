/* options.h: numbers on a tool's command line, checked once for all tools. */
#ifndef SB_TOOLS_OPTIONS_H
#define SB_TOOLS_OPTIONS_H

#include <err.h>
#include <stdio.h>
#include <stdlib.h>

#include "sb_util.h"

#define EXIT_USAGE 64

/* Every tool has one: its synopsis, to stdout for -h, to stderr on misuse. */
static void usage(FILE *f);

/* A number from min to max (fractions allowed), or usage and exit 64. */
static inline double option_number(const char *s, double min, double max,
				   const char *what)
{
	double v;

	if (sb_parse_double(s, min, max, &v)) {
		warnx("bad %s '%s': want a number from %g to %g", what, s, min,
		      max);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return v;
}

/* A whole number from min to max, or usage and exit 64. */
static inline long option_whole(const char *s, long min, long max,
				const char *what)
{
	long v;

	if (sb_parse_long(s, min, max, &v)) {
		warnx("bad %s '%s': want a whole number from %ld to %ld", what,
		      s, min, max);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return v;
}

#endif
