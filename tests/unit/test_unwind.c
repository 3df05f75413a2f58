/* test_unwind.c: stop a child, unwind it, resume it, and lose no signal. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_maps.h"
#include "sb_proc.h"
#include "sb_stack.h"
#include "sb_syms.h"
#include "tap.h"

static volatile unsigned long counter;
static int signal_pipe = -1;

static volatile long handled;
static volatile sig_atomic_t stop_flag;

static void count_signal(int sig)
{
	(void)sig;
	handled++;
}

static void stop_raising(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_usr1(int sig)
{
	char c = 'u';

	(void)sig;
	if (write(signal_pipe, &c, 1) != 1)
		_exit(3);
}

__attribute__((noinline, noipa)) void unwind_level_c(void);
__attribute__((noinline, noipa)) void unwind_level_b(void);
__attribute__((noinline, noipa)) void unwind_level_a(void);

void unwind_level_c(void)
{
	for (;;)
		counter++;
}

void unwind_level_b(void)
{
	unwind_level_c();
	counter--;
}

void unwind_level_a(void)
{
	unwind_level_b();
	counter--;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static char child_state(pid_t pid)
{
	char path[64], buf[512];
	struct sb_thread_stat st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return sb_proc_parse_stat(buf, &st) ? '?' : st.state;
}

int main(void)
{
	struct sb_frame frames[64];
	struct sb_maps maps = { 0 };
	struct sb_stop stop;
	struct sb_unwinder *unw;
	struct sb_syms *syms;
	struct sb_memsrc mem;
	enum sb_stack_end end;
	int fds[2], n, i, pos_a = -1, pos_b = -1, pos_c = -1, r;
	char c;
	pid_t pid;

	tap_plan(15);
	if (pipe(fds))
		return 1;
	pid = fork();
	if (pid == 0) {
		signal_pipe = fds[1];
		signal(SIGUSR1, on_usr1);
		unwind_level_a();
		_exit(0);
	}
	close(fds[1]);
	sleep_ms(100);

	stop.tid = pid;
	r = sb_attach_stop(&stop, 1, 1000);
	is_int(r, 1, "child stopped");
	ok(child_state(pid) == 't', "child in a ptrace stop (t)");
	is_int(sb_maps_read(pid, &maps), 0, "child maps");
	mem = sb_memsrc_live(pid);
	unw = sb_unwinder_new(&mem, &maps);
	n = sb_unwind_thread(unw, pid, frames, 64, &end);
	/* A signal sent while it is stopped must still arrive. */
	kill(pid, SIGUSR1);
	sb_attach_resume_all(&stop, 1);
	ok(stop.stopped_ns > 0 && stop.stopped_ns < 1000000000ull,
	   "stopped time measured");
	ok(n >= 4, "several frames");

	syms = sb_syms_new(pid, NULL);
	for (i = 0; i < n; i++) {
		struct sb_symbol_info info;

		sb_syms_lookup(syms, &maps, frames[i].ip, frames[i].exact,
			       &info);
		if (!info.function)
			continue;
		if (!strcmp(info.function, "unwind_level_c") && pos_c < 0)
			pos_c = i;
		if (!strcmp(info.function, "unwind_level_b") && pos_b < 0)
			pos_b = i;
		if (!strcmp(info.function, "unwind_level_a") && pos_a < 0)
			pos_a = i;
	}
	is_int(pos_c, 0, "innermost frame is unwind_level_c");
	is_int(pos_b, 1, "then unwind_level_b");
	is_int(pos_a, 2, "then unwind_level_a");
	ok(frames[0].exact && !frames[1].exact, "frame 0 exact, others not");
	is_int(end, SB_STACK_END_OUTERMOST, "walk ends at the outermost frame");

	r = (int)read(fds[0], &c, 1);
	is_int(r, 1, "the signal sent during the stop was delivered");
	sleep_ms(50);
	ok(child_state(pid) == 'R', "child runs again after resume");

	/*
	 * A signal that reaches the thread while we stop it must be handed
	 * back, SIGTRAP (an int3, a debug break) as much as any: a child
	 * raises them in a loop while we stop and resume it many times.
	 */
	{
		int sigs[2] = { SIGTRAP, SIGUSR2 }, k;

		for (k = 0; k < 2; k++) {
			int pfd[2], j;
			long counts[2] = { 0, 0 };
			pid_t raiser;

			if (pipe(pfd))
				return 1;
			raiser = fork();
			if (raiser == 0) {
				struct sigaction sa;
				long raised = 0;

				memset(&sa, 0, sizeof(sa));
				sa.sa_handler = count_signal;
				sigaction(sigs[k], &sa, NULL);
				signal(SIGTERM, stop_raising);
				while (!stop_flag) {
					raise(sigs[k]);
					raised++;
				}
				counts[0] = raised;
				counts[1] = handled;
				if (write(pfd[1], counts, sizeof(counts)) < 0)
					_exit(3);
				_exit(0);
			}
			sleep_ms(20);
			for (j = 0; j < 20000; j++) {
				struct sb_stop s2 = { .tid = raiser };

				sb_attach_stop(&s2, 1, 1000);
				sb_attach_resume_all(&s2, 1);
			}
			kill(raiser, SIGTERM);
			if (read(pfd[0], counts, sizeof(counts)) !=
			    sizeof(counts))
				counts[0] = -1;
			waitpid(raiser, NULL, 0);
			close(pfd[0]);
			close(pfd[1]);
			if (!ok(counts[0] > 0 && counts[0] == counts[1],
				k == 0 ? "no SIGTRAP lost across 20000 stops" :
					 "no SIGUSR2 lost across 20000 stops"))
				printf("# raised %ld, handled %ld\n", counts[0],
				       counts[1]);
		}
	}

	stop.tid = 999999999;
	is_int(sb_attach_stop(&stop, 1, 100), -ESRCH,
	       "stopping a missing thread: -ESRCH");

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sb_syms_free(syms);
	sb_unwinder_free(unw);
	sb_maps_free(&maps);
	return tap_done();
}
