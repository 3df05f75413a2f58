/* test_util.c: the one checked parser of command-line numbers. */
#include "sb_util.h"
#include "tap.h"

int main(void)
{
	double d = 0;
	long l = 0;

	tap_plan(12);
	is_int(sb_parse_double("0.25", 0.05, 10, &d), 0, "a decimal in range");
	ok(d == 0.25, "its value");
	ok(sb_parse_double("abc", 0, 10, &d) < 0, "junk refused");
	ok(sb_parse_double("1x", 0, 10, &d) < 0, "trailing junk refused");
	ok(sb_parse_double("", 0, 10, &d) < 0, "nothing refused");
	ok(sb_parse_double("inf", 0, 1e300, &d) < 0, "infinity refused");
	ok(sb_parse_double("11", 0, 10, &d) < 0, "above the range refused");
	is_int(sb_parse_long("42", 1, 100, &l), 0, "a whole number");
	is_int(l, 42, "its value");
	ok(sb_parse_long("1.5", 1, 100, &l) < 0, "a fraction refused");
	ok(sb_parse_long("0", 1, 100, &l) < 0, "below the range refused");
	ok(sb_parse_long("99999999999999999999", 1, 100, &l) < 0,
	   "overflow refused");
	return tap_done();
}
