/* test_proc.c: /proc parsers, and the leader thread's own figures. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "sb_proc.h"
#include "sb_util.h"
#include "tap.h"

static atomic_int stop_spinning;

static void *spin(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_spinning))
		;
	return NULL;
}

static void test_stat_parser(void)
{
	struct sb_thread_stat st;
	/* A thread may name itself "a) b" (or anything up to 15 bytes). */
	const char *tricky = "4242 (a) b (x)) R 1 4242 4242 0 -1 4194560 100 0 "
			     "0 0 1234 567 0 0 20 0 3 0 98765 12345678 400 "
			     "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
			     "1 0 0 0 0 0\n";

	is_int(sb_proc_parse_stat(tricky, &st), 0, "stat with ') ' in name");
	is_str(st.name, "a) b (x)", "name runs to the last ')'");
	is_int(st.state, 'R', "state after the name");
	is_int(st.utime, 1234, "utime is field 14");
	is_int(st.stime, 567, "stime is field 15");
	is_int(st.starttime, 98765, "starttime is field 22");
	is_int(st.processor, 1, "processor is field 39");
	is_int(sb_proc_parse_stat(
		       "7 (\033]0;x\007y) S 1 7 7 0 -1 0 0 0 0 0 1 2 "
		       "0 0 20 0 1 0 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
		       "0 0 17 0 0 0 0 0 0\n",
		       &st),
	       0, "stat with control bytes in the name");
	is_str(st.name, "?]0;x?y", "control bytes cannot reach a terminal");
	ok(sb_proc_parse_stat("4242 no parens R 1", &st) < 0,
	   "stat without a name is refused");
	ok(sb_proc_parse_stat("4242 (x) R 1 2 3", &st) < 0,
	   "truncated stat is refused");
	ok(sb_proc_parse_stat("4242 (x) 7 1 2 3", &st) < 0,
	   "stat with a number for a state is refused");
}

static void test_other_parsers(void)
{
	struct sb_thread_stat st = { 0 };
	const char *status = "Name:\tx\nState:\tS (sleeping)\n"
			     "voluntary_ctxt_switches:\t150\n"
			     "nonvoluntary_ctxt_switches:\t7\n";

	is_int(sb_proc_parse_schedstat("123456789 2000 31\n", &st), 0,
	       "schedstat parses");
	is_int(st.oncpu_ns, 123456789, "on-CPU ns");
	is_int(st.runwait_ns, 2000, "run-queue wait ns");
	ok(sb_proc_parse_schedstat("garbage", &st) < 0,
	   "bad schedstat refused");
	is_int(sb_proc_parse_status_ctxsw(status, &st), 0, "status parses");
	is_int(st.vcsw, 150, "voluntary switches");
	is_int(st.ivcsw, 7, "involuntary switches");
	ok(sb_proc_parse_status_ctxsw("Name:\tx\n", &st) < 0,
	   "status without switch counts refused");
}

/*
 * libproc2 and top -H give the leader the whole process's CPU; we must
 * give it its own.  A spinning thread makes the difference plain.
 */
static void test_leader_figures(void)
{
	struct sb_thread_list list = { 0 };
	const struct sb_thread_stat *leader, *spinner = NULL;
	struct timespec ts = { 0, 400000000 };
	pthread_t th;
	size_t i;
	int err;

	pthread_create(&th, NULL, spin, NULL);
	nanosleep(&ts, NULL);
	err = sb_proc_threads(getpid(), SB_PROC_ALL, &list);
	atomic_store(&stop_spinning, 1);
	pthread_join(th, NULL);
	is_int(err, 0, "threads of self read");
	is_int(list.n, 2, "two threads");
	leader = sb_thread_list_find(&list, getpid());
	ok(leader != NULL, "leader found by tid");
	for (i = 0; i < list.n; i++)
		if (list.v[i].tid != getpid())
			spinner = &list.v[i];
	ok(spinner && spinner->has_schedstat && spinner->oncpu_ns > 100000000,
	   "spinner's own on-CPU time > 0.1 s");
	ok(leader && spinner && leader->oncpu_ns < spinner->oncpu_ns / 2,
	   "leader's on-CPU time is its own, not the process total");
	ok(leader && spinner &&
		   leader->utime + leader->stime <
			   spinner->utime + spinner->stime,
	   "leader's ticks are its own");
	ok(leader && leader->has_ctxsw, "context switches read");
	sb_thread_list_free(&list);
	is_int(sb_proc_threads(999999999, SB_PROC_ALL, &list), -ESRCH,
	       "missing process is -ESRCH");
	sb_thread_list_free(&list);
}

/* /proc/.../syscall, and a thread's reading of it without stat. */
static void test_syscall(void)
{
	struct sb_thread_list list = { 0 };
	uint64_t args[3] = { 9, 9, 9 }, sp = 9, pc = 9;
	long nr = 0;

	is_int(sb_proc_parse_syscall("202 0x55d0c4f0a040 0x80 0x2 0x0 0x0 "
				     "0x0 0x7ffc8e0 0x7f12a0\n",
				     &nr, args, &sp, &pc),
	       0, "futex wait parses");
	ok(nr == 202 && args[0] == 0x55d0c4f0a040ull && args[1] == 0x80 &&
		   args[2] == 2 && sp == 0x7ffc8e0 && pc == 0x7f12a0,
	   "number, first three arguments, sp and pc");
	is_int(sb_proc_parse_syscall("running\n", &nr, args, &sp, &pc), 0,
	       "a running thread parses");
	ok(nr == -1 && sp == 0 && pc == 0, "running: number -1, no registers");
	is_int(sb_proc_parse_syscall("-1 0x7ffc8e0 0x7f12a0\n", &nr, args, &sp,
				     &pc),
	       0, "a thread in a trap parses");
	ok(nr == -1 && args[0] == 0x7ffc8e0 && args[1] == 0x7f12a0 &&
		   args[2] == 0 && sp == 0x7ffc8e0 && pc == 0x7f12a0,
	   "trap: sp and pc, no third argument");
	ok(sb_proc_parse_syscall("garbage", &nr, args, NULL, NULL) < 0,
	   "garbage is refused");
	is_int(sb_proc_threads(getpid(), SB_PROC_SYSCALL | SB_PROC_NO_STAT,
			       &list),
	       0, "syscall files alone read");
	ok(list.n == 1 && list.v[0].tid == getpid() && list.v[0].has_syscall &&
		   list.v[0].syscall_nr == 0 && list.v[0].name[0] == '\0',
	   "our one thread, in the read(2) of its own file, no name read");
	sb_thread_list_free(&list);
}

int main(void)
{
	tap_plan(39);
	test_syscall();
	test_stat_parser();
	test_other_parsers();
	test_leader_figures();
	is_int(sb_proc_check(getpid(), NULL), 0, "self is a process");
	ok(sb_proc_ncpu() >= 1, "at least one CPU");
	return tap_done();
}
