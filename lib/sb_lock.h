/* sb_lock.h: who waits for which lock, who holds it, and the cycles. */
#ifndef SB_LOCK_H
#define SB_LOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "sb_maps.h"
#include "sb_stack.h"
#include "sb_syms.h"

enum sb_lock_type {
	SB_LOCK_NONE, /* not blocked on a futex */
	SB_LOCK_MUTEX,
	SB_LOCK_RWLOCK_READ, /* waits to read */
	SB_LOCK_RWLOCK_WRITE, /* waits to write */
	SB_LOCK_CONDVAR,
	SB_LOCK_JOIN,
	SB_LOCK_SEMAPHORE,
	SB_LOCK_BARRIER,
	SB_LOCK_FUTEX, /* a futex we cannot name */
};

const char *sb_lock_type_str(enum sb_lock_type type);

/* One thread as read: its blocking syscall, and its registers if it
 * was stopped (live) or is in a core. */
struct sb_lock_thread_in {
	pid_t tid;
	char name[16];
	bool unnamed; /* name not read: in->name_of gives it if needed */
	char state; /* from /proc; 'S' for a core */
	long nr; /* syscall number, -1 when running */
	uint64_t args[3]; /* futex: uaddr, op, val */
	uint64_t pc; /* where it is in user code, 0 if unknown */
	bool has_regs;
	struct user_regs_struct regs;
};

struct sb_lock_input {
	pid_t pid;
	const struct sb_maps *maps;
	struct sb_memsrc mem;
	struct sb_syms *syms;
	/* Optional, the caller's (over the same mem and maps), reused across
	 * calls; NULL: one is made for the call if a thread has registers. */
	struct sb_unwinder *unwinder;
	/* For threads read unnamed: their name into name ("" if none),
	 * asked only for those a verdict names (a join's thread). */
	void (*name_of)(void *ctx, pid_t tid, char name[16]);
	void *name_ctx;
	int nthreads;
	const struct sb_lock_thread_in *threads;
};

/* What one thread waits for. */
struct sb_lock_wait {
	pid_t tid;
	char name[16];
	bool unnamed; /* as read: the caller names what it shows */
	char state;
	enum sb_lock_type type;
	uint64_t uaddr; /* the futex word */
	uint64_t object; /* the lock, condition, ... it belongs to */
	char object_name[192]; /* "accounts_lock", "heap object 0x..." */
	char kind[48]; /* "default mutex", "recursive mutex", ... */
	pid_t owner; /* 0: none known */
	int owner_index; /* in the report's threads, -1 if not there */
	int nframes;
	struct sb_sym_frame *frames;
	int where; /* frame of the program's own code */
	uint32_t word[8]; /* the lock's first 32 bytes, to compare looks */
	bool word_ok;
};

struct sb_lock_cycle {
	int len;
	int thread[64]; /* indices into threads: each waits for the next */
};

struct sb_lock_report {
	int nthreads;
	struct sb_lock_wait *threads;
	int ncycles;
	struct sb_lock_cycle cycles[16];
	bool deadlocked, hung;
	int nblocked, nrunnable;
	char verdict[1024];
};

/*
 * Read what every thread waits for from its registers or syscall
 * arguments and the process's memory; unwind those that have registers;
 * find the owners and the cycles.  prev, when given, is an earlier look:
 * only cycles and hangs that are still the same are reported (a contended
 * lock moves on; a deadlock does not).  Returns 0 or -ENOMEM.
 */
int sb_lock_analyze(const struct sb_lock_input *in,
		    const struct sb_lock_report *prev,
		    struct sb_lock_report *report);

void sb_lock_report_free(struct sb_lock_report *report);

#endif
