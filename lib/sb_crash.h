/* sb_crash.h: why a process crashed, from its last registers and memory. */
#ifndef SB_CRASH_H
#define SB_CRASH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "sb_maps.h"
#include "sb_stack.h"
#include "sb_syms.h"

/* What the crash looked like at the moment of the signal. */
struct sb_crash_input {
	pid_t pid;
	uid_t uid;
	const char *exe; /* path, may be NULL */
	const char *comm; /* process name */
	const struct sb_maps *maps;
	struct sb_memsrc mem;
	struct sb_syms *syms;
	int nthreads;
	const pid_t *tids; /* [0] took the signal */
	const char *const *names; /* thread names, or NULL (cores) */
	const struct user_regs_struct *regs;
	int signo, code;
	uint64_t addr;
	pid_t sender_pid;
	uid_t sender_uid;
};

enum sb_crash_cause {
	SB_CAUSE_NULL_DEREF,
	SB_CAUSE_NULL_CALL,
	SB_CAUSE_STACK_OVERFLOW,
	SB_CAUSE_WRITE_READONLY,
	SB_CAUSE_BAD_ADDRESS,
	SB_CAUSE_DIVIDE_BY_ZERO,
	SB_CAUSE_ILLEGAL_INSTRUCTION,
	SB_CAUSE_BUS_ERROR,
	SB_CAUSE_ASSERTION,
	SB_CAUSE_HEAP_CORRUPTION,
	SB_CAUSE_STACK_SMASHING,
	SB_CAUSE_FORTIFY,
	SB_CAUSE_ABORT,
	SB_CAUSE_KILLED,
	SB_CAUSE_OTHER,
};

/* The cause as the JSON names it ("null-deref", ...). */
const char *sb_crash_cause_str(enum sb_crash_cause cause);

/* "SIGSEGV", and a code's name: "SEGV_MAPERR". */
const char *sb_crash_signal_name(int signo);
const char *sb_crash_code_name(int signo, int code);

struct sb_crash_thread {
	pid_t tid;
	char name[16]; /* "" when unknown (cores keep no names) */
	int nframes;
	struct sb_sym_frame *frames; /* innermost first */
	enum sb_stack_end end;
	int group; /* threads with equal stacks share a group */
};

struct sb_crash_report {
	enum sb_crash_cause cause;
	char summary[2048]; /* the verdict sentence */
	char detail[512]; /* how that was concluded */
	char abort_message[512]; /* glibc's __abort_msg, or "" */
	char signature[17]; /* hex, stable across builds and addresses */
	int signo, code;
	uint64_t addr;
	pid_t sender_pid;
	uid_t sender_uid;
	int nthreads;
	struct sb_crash_thread *threads; /* [0] crashed */
	int ngroups;
	/* The frame the crash is blamed on: the program's own code, past
	 * abort() and assert machinery. */
	int blame;
};

/* Unwind every thread this many frames deep at most. */
#define SB_CRASH_MAX_FRAMES (1 << 20)
#define SB_CRASH_OTHER_FRAMES 256

/*
 * Unwind every thread, name the frames, and diagnose.  Work per thread is
 * bounded (frames, and the stack only grows one way).  Returns 0 or
 * -ENOMEM; report is freed with sb_crash_report_free.
 */
int sb_crash_analyze(const struct sb_crash_input *in,
		     struct sb_crash_report *report);

void sb_crash_report_free(struct sb_crash_report *report);

#endif
