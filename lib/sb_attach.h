/* sb_attach.h: stop threads of a live process briefly, and always resume. */
#ifndef SB_ATTACH_H
#define SB_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One thread we stop.  PTRACE_SEIZE + PTRACE_INTERRUPT send no signal,
 * so a tool that dies mid-stop leaves the thread running (the kernel
 * detaches a dead tracer's tracees), unlike PTRACE_ATTACH's SIGSTOP.
 */
struct sb_stop {
	pid_t tid;
	bool seized; /* we are its tracer */
	bool stopped; /* in a ptrace stop now, safe to read */
	bool gone; /* exited before or while we stopped it */
	int pending_sig; /* signal that arrived meanwhile: re-delivered */
	int error; /* -errno of SEIZE, 0 if fine */
	uint64_t t_stop_ns; /* when waitpid saw it stop */
	uint64_t stopped_ns; /* how long it was stopped, set on resume */
};

/*
 * Stop the given threads: seize and interrupt all of them first, then
 * wait for each (pipelined: one scheduler round trip for all, not one per
 * thread).  A thread that does not stop within timeout_ms (uninterruptible
 * sleep) is reported not stopped.  SIGALRM and the real-time interval
 * timer are borrowed meanwhile (and restored).  Ctrl-C and SIGTERM are held
 * back until
 * sb_attach_resume_all() so that no stop outlives the tool.
 * Returns the number of threads stopped, or -EPERM when ptrace was
 * refused for every thread (see sb_attach_explain()), -ESRCH when all
 * were gone.
 */
int sb_attach_stop(struct sb_stop *t, int n, int timeout_ms);

/* Resume (detach) one stopped thread; records its stopped time. */
void sb_attach_resume(struct sb_stop *t);

/* Resume every thread still seized in t[0..n), then let signals in. */
void sb_attach_resume_all(struct sb_stop *t, int n);

/*
 * A sentence saying who may ptrace whom, for an EPERM: the Yama setting
 * when present, the capability needed.  Static storage.
 */
const char *sb_attach_explain(pid_t pid);

/*
 * Install handlers for SIGINT, SIGTERM, SIGHUP and SIGQUIT: the first sets
 * *flag to the signal number so the tool can finish its report and leave;
 * a second one kills the tool at once (no thread is stopped outside
 * sb_attach_stop..resume_all, where these signals are held back).
 */
void sb_attach_install_signals(volatile int *flag);

#endif
