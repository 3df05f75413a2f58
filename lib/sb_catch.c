/* sb_catch.c: trace a program's threads and catch its fatal signal. */
#include "sb_catch.h"
#include "sb_proc.h"
#include "sb_util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRACED 65536

/* Signals whose default action dumps core: the crashes. */
static bool dumps_core(int sig)
{
	switch (sig) {
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
	case SIGILL:
	case SIGABRT:
	case SIGSYS:
	case SIGTRAP:
	case SIGQUIT:
	case SIGXCPU:
	case SIGXFSZ:
		return true;
	}
	return false;
}

/* Whether sig is in one of the masks of the process's status. */
static bool in_mask(pid_t pid, const char *key, int sig)
{
	char path[64], buf[4096], *p;
	unsigned long long mask;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (sb_read_file(path, buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, key);
	if (!p || sscanf(p + strlen(key), "%llx", &mask) != 1)
		return false;
	return mask & (1ull << (sig - 1));
}

/*
 * Whether this signal will kill the process: not if it has a handler,
 * nor if it is ignored and was sent (a fault the kernel raises kills even
 * an ignoring process).
 */
static bool is_fatal(pid_t pid, pid_t tid, int sig)
{
	siginfo_t si;

	if (!dumps_core(sig) || in_mask(pid, "\nSigCgt:", sig))
		return false;
	if (in_mask(pid, "\nSigIgn:", sig) &&
	    ptrace(PTRACE_GETSIGINFO, tid, 0, &si) == 0 && si.si_code <= 0)
		return false;
	return true;
}

struct traced {
	pid_t *tids;
	int n;
};

static void add_tid(struct traced *t, pid_t tid)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->tids[i] == tid)
			return;
	if (t->n < MAX_TRACED)
		t->tids[t->n++] = tid;
}

static void drop_tid(struct traced *t, pid_t tid)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->tids[i] == tid) {
			t->tids[i] = t->tids[--t->n];
			return;
		}
}

/*
 * Stop every other thread, read every thread's registers and name, and
 * hand the picture to the callback.  The others are let go again before
 * the fatal signal is delivered.
 */
static void report_crash(pid_t pid, pid_t victim, int sig, struct traced *t,
			 sb_catch_fn fn, void *ctx)
{
	struct sb_catch_crash c = { .pid = pid, .signo = sig };
	bool *stopped = calloc((size_t)t->n + 1, sizeof(*stopped));
	uint64_t deadline;
	siginfo_t si;
	int i, n = 0;

	c.tids = calloc((size_t)t->n + 1, sizeof(*c.tids));
	c.names = calloc((size_t)t->n + 1, sizeof(*c.names));
	c.regs = calloc((size_t)t->n + 1, sizeof(*c.regs));
	if (!stopped || !c.tids || !c.names || !c.regs)
		goto out;
	if (ptrace(PTRACE_GETSIGINFO, victim, 0, &si) == 0) {
		c.code = si.si_code;
		c.addr = (unsigned long long)(uintptr_t)si.si_addr;
		if (si.si_code <= 0) {
			c.sender_pid = si.si_pid;
			c.sender_uid = si.si_uid;
		}
	}
	/* Interrupt the others, then collect their stops. */
	for (i = 0; i < t->n; i++)
		if (t->tids[i] != victim)
			ptrace(PTRACE_INTERRUPT, t->tids[i], 0, 0);
	/* A thread in uninterruptible sleep may never stop: a second at
	 * most, then the report is made without it. */
	deadline = sb_now_ns() + 1000000000ull;
	for (i = 0; i < t->n; i++) {
		int status;

		if (t->tids[i] == victim) {
			stopped[i] = true;
			continue;
		}
		while (sb_now_ns() < deadline) {
			pid_t w =
				waitpid(t->tids[i], &status, __WALL | WNOHANG);

			if (w == 0) {
				struct timespec ts = { 0, 100000 };

				nanosleep(&ts, NULL);
				continue;
			}
			if (w != t->tids[i])
				break;
			if (WIFEXITED(status) || WIFSIGNALED(status))
				break;
			if ((unsigned)status >> 16 == PTRACE_EVENT_STOP) {
				stopped[i] = true;
				break;
			}
			/* A signal on its way to it: delivered now, and our
			 * interrupt stops it right after. */
			ptrace(PTRACE_CONT, t->tids[i], 0,
			       (void *)(long)WSTOPSIG(status));
		}
	}
	/* The victim first: [0] took the signal. */
	for (i = -1; i < t->n; i++) {
		pid_t tid = i < 0 ? victim : t->tids[i];
		char path[64];

		if (i >= 0 && (tid == victim || !stopped[i]))
			continue;
		if (ptrace(PTRACE_GETREGS, tid, 0, &c.regs[n]) != 0)
			continue;
		c.tids[n] = tid;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid,
			 (int)tid);
		if (sb_read_file(path, c.names[n], sizeof(c.names[n])) > 0) {
			c.names[n][strcspn(c.names[n], "\n")] = '\0';
			sb_proc_clean_name(c.names[n]);
		}
		n++;
	}
	c.nthreads = n;
	if (n)
		fn(ctx, &c);
	for (i = 0; i < t->n; i++)
		if (t->tids[i] != victim && stopped[i])
			ptrace(PTRACE_CONT, t->tids[i], 0, 0);
out:
	free(stopped);
	free(c.tids);
	free(c.names);
	free(c.regs);
}

int sb_catch_run(char *const argv[], sb_catch_fn on_crash, void *ctx,
		 struct sb_catch_result *res)
{
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_int, old_quit;
	struct traced t = { 0 };
	int pipefd[2], status, child_errno = 0, e = 0;
	pid_t pid;
	ssize_t r;

	memset(res, 0, sizeof(*res));
	t.tids = calloc(MAX_TRACED, sizeof(*t.tids));
	if (!t.tids || pipe2(pipefd, O_CLOEXEC)) {
		free(t.tids);
		return -ENOMEM;
	}
	/* Ctrl-C and Ctrl-\ from the terminal are for the program (same
	 * process group): the tool stays to report its fate.  The program
	 * gets them as they were, ignored too if they were ignored. */
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);
	pid = fork();
	if (pid < 0) {
		e = errno;
		goto out_signals;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		close(pipefd[0]);
		raise(SIGSTOP); /* wait to be seized */
		execvp(argv[0], argv);
		child_errno = errno;
		if (write(pipefd[1], &child_errno, sizeof(child_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pipefd[1]);
	if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) ||
	    ptrace(PTRACE_SEIZE, pid, 0,
		   (void *)(long)(PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC))) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out_signals;
	}
	add_tid(&t, pid);
	kill(pid, SIGCONT);
	for (;;) {
		pid_t tid = waitpid(-1, &status, __WALL);
		int event, sig;

		if (tid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			drop_tid(&t, tid);
			if (tid != pid)
				continue;
			res->exited = WIFEXITED(status);
			res->signaled = WIFSIGNALED(status);
			res->core_dumped =
				WIFSIGNALED(status) && WCOREDUMP(status);
			res->status = res->exited ? WEXITSTATUS(status) :
						    WTERMSIG(status);
			break;
		}
		if (!WIFSTOPPED(status))
			continue;
		add_tid(&t, tid);
		event = (unsigned)status >> 16;
		sig = WSTOPSIG(status);
		if (event == PTRACE_EVENT_STOP) {
			/* A job-control stop keeps it stopped, as untraced. */
			if (sig == SIGSTOP || sig == SIGTSTP ||
			    sig == SIGTTIN || sig == SIGTTOU)
				ptrace(PTRACE_LISTEN, tid, 0, 0);
			else
				ptrace(PTRACE_CONT, tid, 0, 0);
			continue;
		}
		if (event) {
			/* clone, exec: nothing to pass on. */
			ptrace(PTRACE_CONT, tid, 0, 0);
			continue;
		}
		/* A signal on its way: pass it on, after a look if fatal. */
		if (is_fatal(pid, tid, sig) && !res->caught && on_crash) {
			report_crash(pid, tid, sig, &t, on_crash, ctx);
			res->caught = true;
		}
		ptrace(PTRACE_CONT, tid, 0, (void *)(long)sig);
	}
	/* exec failed?  The child said so through the close-on-exec pipe,
	 * whose write end is closed by now either way. */
	r = read(pipefd[0], &child_errno, sizeof(child_errno));
	if (r == sizeof(child_errno) && child_errno)
		e = child_errno;
out_signals:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	close(pipefd[0]);
	if (pid < 0)
		close(pipefd[1]);
	free(t.tids);
	return -e;
}
