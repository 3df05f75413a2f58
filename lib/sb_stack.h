/* sb_stack.h: unwind a thread's stack from its registers and memory. */
#ifndef SB_STACK_H
#define SB_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "sb_maps.h"

/*
 * Where the unwinder reads the target's memory: a live process, or a core
 * file.  read() returns the bytes read (short at an unmapped page) or
 * -errno.
 */
struct sb_memsrc {
	ssize_t (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	void *ctx;
	bool immutable; /* a core: pages may be cached forever */
};

/* One raw frame, recorded while the thread is stopped. */
struct sb_frame {
	uint64_t ip;
	uint64_t sp;
	bool exact; /* ip is the instruction itself, not a return address */
	/* the sigreturn trampoline: the frame after it is the one the
	 * signal interrupted, and exact */
	bool signal;
};

/* Why a walk ended. */
enum sb_stack_end {
	SB_STACK_END_OUTERMOST, /* clean: _start or clone3 */
	SB_STACK_END_DEPTH, /* the depth cap */
	SB_STACK_END_LOOP, /* the same frame twice, or sp went down */
	SB_STACK_END_BAD_IP, /* ip outside any executable mapping */
	SB_STACK_END_NO_INFO, /* no unwind info for a frame */
	SB_STACK_END_ERROR, /* registers or memory unreadable */
};

const char *sb_stack_end_str(enum sb_stack_end end);

struct sb_unwinder;

/*
 * An unwinder for one address space: one libunwind address space with a
 * global cache, reused for every thread and sample.  Unwind tables are
 * read from the target's own memory (its .eh_frame_hdr), which is what
 * lets it walk out of the vDSO, a mapping with no file behind it.  maps
 * must outlive the unwinder (or be replaced with sb_unwinder_set_maps).
 * NULL on out-of-memory.
 */
struct sb_unwinder *sb_unwinder_new(const struct sb_memsrc *mem,
				    const struct sb_maps *maps);

/* A memory source for a live process (process_vm_readv). */
struct sb_memsrc sb_memsrc_live(pid_t pid);

/* The maps changed (dlopen): forget cached tables. */
void sb_unwinder_set_maps(struct sb_unwinder *u, const struct sb_maps *maps);

/*
 * Walk from the given registers into out[0..max).  Returns the number of
 * frames (at least 1 when regs are sane) and sets *end.
 */
int sb_unwind_regs(struct sb_unwinder *u, const struct user_regs_struct *regs,
		   struct sb_frame *out, int max, enum sb_stack_end *end);

/*
 * Walk a thread stopped with sb_attach_stop.  Returns the frame count or
 * -errno when its registers cannot be read (it died).
 */
int sb_unwind_thread(struct sb_unwinder *u, pid_t tid, struct sb_frame *out,
		     int max, enum sb_stack_end *end);

void sb_unwinder_free(struct sb_unwinder *u);

#endif
