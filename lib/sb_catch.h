/* sb_catch.h: run a program under ptrace and catch its crash as it happens. */
#ifndef SB_CATCH_H
#define SB_CATCH_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/user.h>

/* The process at the moment of its fatal signal, every thread stopped. */
struct sb_catch_crash {
	pid_t pid;
	int nthreads;
	pid_t *tids; /* [0] took the signal */
	char (*names)[16]; /* thread names (comm) */
	struct user_regs_struct *regs;
	int signo, code;
	unsigned long long addr;
	pid_t sender_pid;
	uid_t sender_uid;
};

/*
 * Called once, on a fatal signal the program does not handle, while every
 * thread is stopped; the signal is delivered after it returns, so the
 * process dies exactly as it would have (and dumps core if the system is
 * set up to).
 */
typedef void (*sb_catch_fn)(void *ctx, const struct sb_catch_crash *crash);

struct sb_catch_result {
	bool exited; /* exit status in status */
	bool signaled; /* killed by signal in status */
	bool core_dumped;
	int status;
	bool caught; /* the callback ran */
};

/*
 * Start argv[0] (searched in PATH) with argv, trace it and every thread it
 * creates, pass every signal through untouched, and call on_crash at a
 * crash.  Returns 0 when the program ran (result says how it ended),
 * -ENOENT/-EACCES when it could not be started (execvp's errno), or
 * -errno.  If the tool dies, the kernel detaches the program, which runs
 * on unharmed.  Meanwhile SIGINT and SIGQUIT are ignored by the caller
 * (they are for the program, in the same process group) and restored
 * after; the program gets them as the caller had them.
 */
int sb_catch_run(char *const argv[], sb_catch_fn on_crash, void *ctx,
		 struct sb_catch_result *result);

#endif
