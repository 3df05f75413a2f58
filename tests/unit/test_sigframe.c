/* test_sigframe.c: unwinding through a signal handler, on the alternate
 * stack too: the interrupted frame is exact, the walk goes on past it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_maps.h"
#include "sb_stack.h"
#include "sb_syms.h"
#include "tap.h"

static volatile unsigned long spins;

__attribute__((noinline, noipa)) void handler_spin(int sig);
__attribute__((noinline, noipa)) void interrupted_fn(void);

void handler_spin(int sig)
{
	(void)sig;
	for (;;)
		spins++;
}

void interrupted_fn(void)
{
	for (;;)
		spins++;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Unwind a child that spins in a handler; check the frames' names and
 * which are exact.  Returns the frame count found. */
static void check(bool altstack)
{
	const char *how = altstack ? "altstack" : "same stack";
	struct sb_frame frames[64];
	struct sb_sym_frame named[64];
	struct sb_maps maps = { 0 };
	struct sb_stop stop;
	struct sb_unwinder *u;
	struct sb_syms *syms;
	struct sb_memsrc mem;
	enum sb_stack_end end;
	int n, i, h = -1, f = -1, m = -1;
	char name[128];
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = handler_spin;
		if (altstack) {
			stack_t ss = { .ss_sp = malloc(1 << 16),
				       .ss_size = 1 << 16 };

			sigaltstack(&ss, NULL);
			sa.sa_flags = SA_ONSTACK;
		}
		sigaction(SIGUSR1, &sa, NULL);
		interrupted_fn();
		_exit(0);
	}
	sleep_ms(50);
	kill(pid, SIGUSR1);
	sleep_ms(50);
	stop.tid = pid;
	sb_attach_stop(&stop, 1, 1000);
	sb_maps_read(pid, &maps);
	mem = sb_memsrc_live(pid);
	u = sb_unwinder_new(&mem, &maps);
	n = sb_unwind_thread(u, pid, frames, 64, &end);
	sb_attach_resume_all(&stop, 1);
	syms = sb_syms_new(pid, NULL);
	sb_syms_frames(syms, &maps, frames, n, named);
	for (i = 0; i < n; i++) {
		const struct sb_symbol_info s = named[i].sym;

		printf("# %s #%d %s exact=%d signal=%d\n", how, i,
		       s.function ? s.function : "??", frames[i].exact,
		       frames[i].signal);
		if (!s.function)
			continue;
		if (!strcmp(s.function, "handler_spin") && h < 0)
			h = i;
		if (!strcmp(s.function, "interrupted_fn") && f < 0)
			f = i;
		if (!strcmp(s.function, "main") && m < 0)
			m = i;
	}
	snprintf(name, sizeof(name),
		 "%s: handler, then the interrupted "
		 "function, then main",
		 how);
	ok(h == 0 && f > h && m > f, name);
	snprintf(name, sizeof(name), "%s: the interrupted frame is exact", how);
	ok(f > 0 && frames[f].exact, name);
	snprintf(name, sizeof(name),
		 "%s: every frame between is named (the trampoline too)", how);
	for (i = h + 1; i < f && f > 0; i++)
		if (!named[i].sym.function)
			break;
	ok(f > 0 && i == f, name);
	snprintf(name, sizeof(name), "%s: frames after it are return addresses",
		 how);
	ok(m > 0 && !frames[m].exact, name);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	sb_syms_free(syms);
	sb_unwinder_free(u);
	sb_maps_free(&maps);
}

int main(void)
{
	tap_plan(8);
	check(false);
	check(true);
	return tap_done();
}
