/* sb_proc.h: processes and their threads as /proc and libproc2 show them. */
#ifndef SB_PROC_H
#define SB_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One thread's counters at one moment.  The leader's figures are its own
 * (/proc/PID/task/PID), never the whole process's: libproc2 and top -H put
 * the process total on the leader row (PLATFORM.md section 4).
 */
struct sb_thread_stat {
	pid_t tid;
	char name[16];
	char state; /* R, S, D, T, t, Z, X, I */
	int processor; /* CPU it last ran on */
	uint64_t starttime; /* clock ticks after boot; tells reused TIDs */
	uint64_t utime, stime; /* clock ticks */
	bool has_schedstat;
	uint64_t oncpu_ns; /* time on a CPU */
	uint64_t runwait_ns; /* time runnable but waiting for a CPU */
	bool has_ctxsw;
	uint64_t vcsw, ivcsw; /* voluntary, involuntary context switches */
	char wchan[32]; /* kernel function it sleeps in, "" if running */
	/* What it is blocked in (SB_PROC_SYSCALL): the syscall number and
	 * first three arguments, nr -1 when running; has_syscall false when
	 * the file could not be read (no ptrace access). */
	bool has_syscall;
	long syscall_nr;
	uint64_t syscall_args[3];
	uint64_t syscall_sp, syscall_pc; /* user registers then, 0 if running */
};

/* What to read beyond stat: each extra file costs a read per thread. */
enum {
	SB_PROC_SCHEDSTAT = 1 << 0,
	SB_PROC_CTXSW = 1 << 1,
	SB_PROC_WCHAN = 1 << 2,
	SB_PROC_ALL = SB_PROC_SCHEDSTAT | SB_PROC_CTXSW | SB_PROC_WCHAN,
	SB_PROC_SYSCALL = 1 << 3,
	/* Not even stat: only the tid and what the other flags ask for
	 * (name, state and times are left empty). */
	SB_PROC_NO_STAT = 1 << 4,
};

struct sb_thread_list {
	struct sb_thread_stat *v; /* sorted by tid */
	size_t n, cap;
	uint64_t when_ns; /* sb_now_ns() when read */
};

/*
 * Read every thread of process pid.  Threads that exit while being read
 * are left out.  Returns 0, -ESRCH when the process is gone, -EACCES or
 * another -errno.  The list is reused across calls; free with
 * sb_thread_list_free().
 */
int sb_proc_threads(pid_t pid, unsigned what, struct sb_thread_list *out);

/*
 * Read one thread: stat, plus what `what` asks for.  0, -ESRCH when it is
 * gone, or -errno.
 */
int sb_proc_thread_read(pid_t pid, pid_t tid, unsigned what,
			struct sb_thread_stat *st);

/* Re-read only the given threads (a subset: the hot ones), in place. */
int sb_proc_threads_refresh(pid_t pid, unsigned what,
			    struct sb_thread_list *list);

void sb_thread_list_free(struct sb_thread_list *list);

/* Find a tid in a list read by sb_proc_threads; NULL if absent. */
const struct sb_thread_stat *sb_thread_list_find(const struct sb_thread_list *l,
						 pid_t tid);

/*
 * Parse the text of /proc/.../stat.  The name is taken between the first
 * '(' and the last ')', since a thread may call itself "a) b".  Returns 0
 * or -EINVAL for text that is not a stat line.
 */
int sb_proc_parse_stat(const char *text, struct sb_thread_stat *st);

/*
 * Make a name safe to print: a process names itself, and a name with an
 * escape sequence in it would drive the user's terminal.  Control bytes
 * become '?', as ps does.
 */
void sb_proc_clean_name(char *name);

/* Parse /proc/.../schedstat: "oncpu_ns runwait_ns timeslices". */
int sb_proc_parse_schedstat(const char *text, struct sb_thread_stat *st);

/* Pick the context-switch counters out of /proc/.../status text. */
int sb_proc_parse_status_ctxsw(const char *text, struct sb_thread_stat *st);

/*
 * What a thread is blocked in, from /proc/PID/task/TID/syscall (no stop
 * needed): *nr is the syscall number and args its first three arguments,
 * or *nr = -1 when it is running.  0, -ESRCH, or -EACCES.
 */
int sb_proc_syscall(pid_t pid, pid_t tid, long *nr, uint64_t args[3]);

/*
 * Parse the text of /proc/.../syscall, as above; sp and pc (may be NULL)
 * get the user stack pointer and instruction pointer the line ends with,
 * 0 for a running thread.  0 or -EINVAL.
 */
int sb_proc_parse_syscall(const char *text, long *nr, uint64_t args[3],
			  uint64_t *sp, uint64_t *pc);

/* Process-wide facts. */
long sb_proc_ncpu(void);
long sb_proc_clk_tck(void);

/* The process's name (comm) into buf; -ESRCH if it does not exist. */
int sb_proc_comm(pid_t pid, char *buf, size_t size);

/*
 * Whether pid names a live process: 0, -ESRCH, or -EINVAL when pid is a
 * thread that is not a process leader (*leader is then set to its TGID).
 */
int sb_proc_check(pid_t pid, pid_t *leader);

/* A process and how much CPU it used over a window. */
struct sb_proc_usage {
	pid_t pid;
	char name[64];
	double cpu_pct; /* 100 = one CPU busy */
	int nthreads;
};

/*
 * Measure every process on the machine over `seconds` with libproc2 and
 * return them sorted by CPU, descending (malloc'ed, caller frees).  Used to
 * find the hottest process when no PID is given.  Returns the count or
 * -errno.
 */
int sb_proc_top(double seconds, struct sb_proc_usage **out);

/*
 * Processes whose comm or argv[0] basename equals name (libproc2).
 * Returns the count of matches written to pids (at most max), or -errno.
 */
int sb_proc_find_by_name(const char *name, pid_t *pids, int max);

#endif
