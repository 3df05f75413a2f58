/* sb_attach.c: PTRACE_SEIZE/INTERRUPT stops that never outlive the tool. */
#include "sb_attach.h"
#include "sb_util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static sigset_t held;
static sigset_t saved_mask;
static int holding;

static void hold_signals(void)
{
	if (holding++)
		return;
	sigemptyset(&held);
	sigaddset(&held, SIGINT);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGQUIT);
	sigaddset(&held, SIGPIPE);
	/* Ctrl-Z must not suspend us while we hold a thread stopped. */
	sigaddset(&held, SIGTSTP);
	sigaddset(&held, SIGTTIN);
	sigaddset(&held, SIGTTOU);
	sigprocmask(SIG_BLOCK, &held, &saved_mask);
}

static void release_signals(void)
{
	if (holding == 0 || --holding)
		return;
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

/*
 * Interpret a wait status for a seized thread.  Returns 1 when the thread
 * is now stopped, 0 when the status was consumed but it runs on, -1 when
 * it is gone.
 */
static int on_status(struct sb_stop *t, int status)
{
	int event = (unsigned)status >> 16;

	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->gone = true;
		t->seized = false;
		return -1;
	}
	if (!WIFSTOPPED(status))
		return 0;
	if (event == PTRACE_EVENT_STOP) {
		/* Our interrupt, or a group-stop (SIGSTOP from elsewhere):
		 * either way it is stopped now, and detaching leaves a
		 * group-stop in place. */
		return 1;
	}
	if (event == 0) {
		/* A signal was on its way to the thread (under SEIZE every
		 * such stop is one, SIGTRAP from an int3 included): hand it
		 * back when we detach, or the target would lose it. */
		t->pending_sig = WSTOPSIG(status);
		return 1;
	}
	return 1;
}

struct alarm_state {
	struct sigaction sa;
	struct itimerval it;
};

static void on_alarm(int sig)
{
	(void)sig; /* only here to make waitpid return EINTR */
}

static void arm_alarm(struct alarm_state *old)
{
	struct itimerval it = { .it_interval = { 0, 10000 },
				.it_value = { 0, 10000 } };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: waitpid must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old->sa);
	setitimer(ITIMER_REAL, &it, &old->it);
}

static void disarm_alarm(const struct alarm_state *old)
{
	struct itimerval off = { { 0, 0 }, { 0, 0 } };

	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old->sa, NULL);
	if (old->it.it_value.tv_sec || old->it.it_value.tv_usec)
		setitimer(ITIMER_REAL, &old->it, NULL);
}

/*
 * Threads seized whose stop came after we gave up waiting.  Only touched
 * with SIGCHLD blocked, or from its handler.
 */
#define MAX_LATE 256
static volatile pid_t late[MAX_LATE];
static volatile int nlate;

/* Release every late thread that has stopped (or died) by now. */
static void reap_late(void)
{
	int i, status;

	for (i = 0; i < nlate; i++) {
		pid_t tid = late[i];
		int r = waitpid(tid, &status, __WALL | WNOHANG);

		if (r == 0)
			continue;
		if (r > 0 && WIFSTOPPED(status)) {
			int event = (unsigned)status >> 16, sig = 0;

			if (event == 0)
				sig = WSTOPSIG(status);
			ptrace(PTRACE_DETACH, tid, 0, (void *)(long)sig);
		}
		late[i--] = late[--nlate];
	}
}

static void on_sigchld(int sig)
{
	int saved = errno;

	(void)sig;
	reap_late();
	errno = saved;
}

static void add_late(pid_t tid)
{
	static bool installed;
	sigset_t chld, old;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigchld;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGCHLD, &sa, NULL);
		installed = true;
	}
	if (nlate < MAX_LATE)
		late[nlate++] = tid;
	reap_late(); /* it may have stopped already */
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static bool is_late(pid_t tid)
{
	sigset_t chld, old;
	bool found = false;
	int i;

	/* Only this flow adds to the list (the handler only takes away):
	 * an empty list stays empty, and a stop of a hundred threads need
	 * not block SIGCHLD twice a thread to learn it. */
	if (nlate == 0)
		return false;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	reap_late();
	for (i = 0; i < nlate && !found; i++)
		found = late[i] == tid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return found;
}

int sb_attach_stop(struct sb_stop *t, int n, int timeout_ms)
{
	struct alarm_state alarm_state;
	int i, stopped = 0, eperm = 0;
	uint64_t deadline;

	hold_signals();
	for (i = 0; i < n; i++) {
		t[i].seized = t[i].stopped = t[i].gone = false;
		t[i].pending_sig = t[i].error = 0;
		t[i].stopped_ns = 0;
		if (is_late(t[i].tid) || nlate >= MAX_LATE) {
			/* Still ours from a stop that never came (or no room
			 * to remember one more): skip it this time rather
			 * than call it refused. */
			t[i].error = -EBUSY;
			continue;
		}
		if (ptrace(PTRACE_SEIZE, t[i].tid, 0, 0) != 0) {
			t[i].error = -errno;
			if (errno == ESRCH)
				t[i].gone = true;
			if (errno == EPERM)
				eperm++;
			continue;
		}
		t[i].seized = true;
		t[i].t_stop_ns = sb_now_ns();
		if (ptrace(PTRACE_INTERRUPT, t[i].tid, 0, 0) != 0) {
			t[i].error = -errno;
			t[i].gone = errno == ESRCH;
			/* Seized but not stopping: it must not be forgotten
			 * while it is ours. */
			if (!t[i].gone)
				add_late(t[i].tid);
			t[i].seized = false;
		}
	}
	/*
	 * Block in waitpid, thread by thread: the kernel wakes us the moment
	 * each stops, where polling would add a nap to every stop.  A
	 * repeating 10 ms alarm breaks a wait on a thread that cannot stop
	 * (uninterruptible sleep), so the deadline is kept.
	 */
	deadline = sb_now_ns() + (uint64_t)timeout_ms * 1000000u;
	arm_alarm(&alarm_state);
	for (i = 0; i < n; i++) {
		while (t[i].seized && !t[i].stopped) {
			/* Past the deadline, only what has stopped by now. */
			int status, r = waitpid(t[i].tid, &status,
						sb_now_ns() >= deadline ?
							__WALL | WNOHANG :
							__WALL);

			if (r == 0)
				break;

			if (r < 0 && errno == EINTR) {
				if (sb_now_ns() >= deadline)
					break;
				continue;
			}
			if (r < 0) {
				/* ECHILD: it died and was reaped by the
				 * thread group; nothing to detach. */
				t[i].gone = true;
				t[i].seized = false;
				break;
			}
			if (on_status(&t[i], status) == 1) {
				/*
				 * Counted from here: a thread waiting for a
				 * CPU when interrupted enters the stop only
				 * once it gets one, and until then it would
				 * not have run anyway.  waitpid blocks, so
				 * this is at most a wakeup late.
				 */
				t[i].t_stop_ns = sb_now_ns();
				t[i].stopped = true;
				stopped++;
			}
		}
	}
	disarm_alarm(&alarm_state);
	if (stopped == 0 && eperm && eperm == n) {
		release_signals();
		return -EPERM;
	}
	if (stopped == 0) {
		bool all_gone = true;

		for (i = 0; i < n; i++)
			all_gone &= t[i].gone;
		if (all_gone) {
			release_signals();
			return -ESRCH;
		}
	}
	return stopped;
}

void sb_attach_resume(struct sb_stop *t)
{
	if (!t->seized)
		return;
	if (t->stopped) {
		ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->pending_sig);
		t->stopped_ns = sb_now_ns() - t->t_stop_ns;
	} else {
		/*
		 * Not stopped in time (waiting for a CPU on a swamped machine,
		 * or in uninterruptible sleep).  Detaching a running tracee
		 * fails and the interrupt stays pending: it will stop later,
		 * with nobody waiting.  The SIGCHLD its stop sends us lets
		 * it go at once (on_sigchld), whatever we are doing then.
		 */
		add_late(t->tid);
	}
	t->seized = false;
	t->stopped = false;
}

void sb_attach_resume_all(struct sb_stop *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		sb_attach_resume(&t[i]);
	release_signals();
}

/* A number from /proc/PID/status ("Uid:" gives the real uid). */
static long status_number(pid_t pid, const char *key)
{
	char path[64], buf[4096], *p;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (sb_read_file(path, buf, sizeof(buf)) < 0 && errno != EFBIG)
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
	return -1;
}

const char *sb_attach_explain(pid_t pid)
{
	static char buf[512];
	char scope[16] = "";
	long tracer = status_number(pid, "TracerPid");
	long uid = status_number(pid, "Uid");

	if (tracer > 0) {
		char comm[64] = "?", path[64];

		snprintf(path, sizeof(path), "/proc/%ld/comm", tracer);
		sb_read_file(path, comm, sizeof(comm));
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(buf, sizeof(buf),
			 "process %d is already traced by %ld '%s'; a thread "
			 "has one tracer at a time: detach it first",
			 (int)pid, tracer, comm);
	} else if (geteuid() == 0) {
		snprintf(buf, sizeof(buf),
			 "ptrace was refused even to root: a security module "
			 "(SELinux, AppArmor, kernel.yama.ptrace_scope=3) or "
			 "another PID namespace protects process %d",
			 (int)pid);
	} else if (uid >= 0 && (uid_t)uid != getuid()) {
		snprintf(buf, sizeof(buf),
			 "process %d belongs to uid %ld and you are uid %d; "
			 "ptrace needs the same user or CAP_SYS_PTRACE (run "
			 "as that user, or as root)",
			 (int)pid, uid, (int)getuid());
	} else if (sb_read_file("/proc/sys/kernel/yama/ptrace_scope", scope,
				sizeof(scope)) > 0 &&
		   scope[0] != '0') {
		snprintf(buf, sizeof(buf),
			 "kernel.yama.ptrace_scope=%c lets only a parent or "
			 "CAP_SYS_PTRACE trace a process (run as root, or: "
			 "sysctl kernel.yama.ptrace_scope=0)",
			 scope[0]);
	} else {
		snprintf(buf, sizeof(buf),
			 "ptrace needs the same user or CAP_SYS_PTRACE");
	}
	return buf;
}

static volatile int *stop_flag;

static void on_signal(int sig)
{
	if (stop_flag && !*stop_flag) {
		*stop_flag = sig;
		return;
	}
	/* Second signal: the user insists.  No thread is stopped here (the
	 * signals are held during stops), so leaving at once is safe. */
	signal(sig, SIG_DFL);
	raise(sig);
}

void sb_attach_install_signals(volatile int *flag)
{
	struct sigaction sa;

	stop_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
}
