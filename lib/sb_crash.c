/* sb_crash.c: unwind a crashed process's threads and name the cause. */
#include "sb_crash.h"
#include "sb_report.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kernel refuses to map below vm.mmap_min_addr (64 KiB by default):
 * a fault down there is a NULL pointer plus an offset. */
#define NULL_PAGE_LIMIT 65536
/* A fault this close to the stack pointer, outside any usable mapping,
 * is the stack running into its guard. */
#define STACK_SLACK 65536

static const char *const cause_names[] = {
	[SB_CAUSE_NULL_DEREF] = "null-deref",
	[SB_CAUSE_NULL_CALL] = "null-call",
	[SB_CAUSE_STACK_OVERFLOW] = "stack-overflow",
	[SB_CAUSE_WRITE_READONLY] = "write-to-readonly",
	[SB_CAUSE_BAD_ADDRESS] = "bad-address",
	[SB_CAUSE_DIVIDE_BY_ZERO] = "divide-by-zero",
	[SB_CAUSE_ILLEGAL_INSTRUCTION] = "illegal-instruction",
	[SB_CAUSE_BUS_ERROR] = "bus-error",
	[SB_CAUSE_ASSERTION] = "assertion",
	[SB_CAUSE_HEAP_CORRUPTION] = "heap-corruption",
	[SB_CAUSE_STACK_SMASHING] = "stack-smashing",
	[SB_CAUSE_FORTIFY] = "fortify",
	[SB_CAUSE_ABORT] = "abort",
	[SB_CAUSE_KILLED] = "killed",
	[SB_CAUSE_OTHER] = "other",
};

const char *sb_crash_cause_str(enum sb_crash_cause cause)
{
	return cause <= SB_CAUSE_OTHER ? cause_names[cause] : "other";
}

const char *sb_crash_signal_name(int signo)
{
	static char buf[16];
	const char *abbrev = sigabbrev_np(signo);

	if (!abbrev) {
		snprintf(buf, sizeof(buf), "signal %d", signo);
		return buf;
	}
	snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	return buf;
}

const char *sb_crash_code_name(int signo, int code)
{
	switch (code) {
	case SI_USER:
		return "SI_USER";
	case SI_TKILL:
		return "SI_TKILL";
	case SI_QUEUE:
		return "SI_QUEUE";
	case SI_KERNEL:
		return "SI_KERNEL";
	}
	if (signo == SIGSEGV && code == SEGV_MAPERR)
		return "SEGV_MAPERR";
	if (signo == SIGSEGV && code == SEGV_ACCERR)
		return "SEGV_ACCERR";
	if (signo == SIGFPE && code == FPE_INTDIV)
		return "FPE_INTDIV";
	if (signo == SIGFPE && code == FPE_INTOVF)
		return "FPE_INTOVF";
	if (signo == SIGBUS && code == BUS_ADRALN)
		return "BUS_ADRALN";
	if (signo == SIGBUS && code == BUS_ADRERR)
		return "BUS_ADRERR";
	if (signo == SIGILL && code == ILL_ILLOPN)
		return "ILL_ILLOPN";
	if (signo == SIGILL && code == ILL_ILLOPC)
		return "ILL_ILLOPC";
	return NULL;
}

/*
 * Unwind one thread.  A call through a bad pointer leaves pc outside any
 * code, where the unwinder has nothing to go on; the caller's return
 * address is then the word at the stack pointer, and the walk resumes
 * from there.
 */
static int unwind(struct sb_unwinder *u, const struct sb_crash_input *in,
		  const struct user_regs_struct *regs, struct sb_frame *raw,
		  int max, enum sb_stack_end *end)
{
	const struct sb_map *m = sb_maps_find(in->maps, regs->rip);
	struct user_regs_struct caller = *regs;
	uint64_t ret;
	int n;

	if ((m && m->x) || max < 2 ||
	    in->mem.read(in->mem.ctx, regs->rsp, &ret, 8) != 8)
		return sb_unwind_regs(u, regs, raw, max, end);
	raw[0] = (struct sb_frame){ .ip = regs->rip,
				    .sp = regs->rsp,
				    .exact = true };
	caller.rip = ret;
	caller.rsp = regs->rsp + 8;
	n = sb_unwind_regs(u, &caller, raw + 1, max - 1, end);
	if (n > 0)
		raw[1].exact = false; /* a return address after all */
	return n + 1;
}

static int name_thread(struct sb_unwinder *u, const struct sb_crash_input *in,
		       int i, int max, struct sb_crash_thread *t)
{
	struct sb_frame *raw = malloc((size_t)max * sizeof(*raw));
	int n;

	if (!raw)
		return -ENOMEM;
	t->tid = in->tids[i];
	if (in->names && in->names[i])
		snprintf(t->name, sizeof(t->name), "%s", in->names[i]);
	n = unwind(u, in, &in->regs[i], raw, max, &t->end);
	t->frames = calloc((size_t)(n > 0 ? n : 1), sizeof(*t->frames));
	if (!t->frames) {
		free(raw);
		return -ENOMEM;
	}
	sb_syms_frames(in->syms, in->maps, raw, n, t->frames);
	t->nframes = n;
	free(raw);
	return 0;
}

/* The first frame in the program's own code, past abort and assert. */
static int blame_frame(const struct sb_crash_thread *t)
{
	int i;

	/* The program's own code, named or not (a stripped program is
	 * still better blamed by module+offset than libc's start_thread). */
	for (i = 0; i < t->nframes; i++)
		if (t->frames[i].sym.module &&
		    !sb_syms_system_module(t->frames[i].sym.module))
			return i;
	for (i = 0; i < t->nframes; i++)
		if (t->frames[i].sym.function)
			return i;
	return 0;
}

/* glibc keeps the text of its last fatal message in __abort_msg. */
static void read_abort_msg(const struct sb_crash_input *in, char *buf,
			   size_t size)
{
	uint64_t sym = 0, ptr = 0;
	uint32_t len = 0;
	const char *base = in->exe ? strrchr(in->exe, '/') : NULL;
	ssize_t r;

	buf[0] = '\0';
	if (sb_syms_find(in->syms, in->maps, "libc.so", "__abort_msg", &sym) &&
	    (!base ||
	     sb_syms_find(in->syms, in->maps, base + 1, "__abort_msg", &sym)))
		return;
	if (in->mem.read(in->mem.ctx, sym, &ptr, 8) != 8 || !ptr ||
	    in->mem.read(in->mem.ctx, ptr, &len, 4) != 4 || len < 5)
		return;
	if (len - 4 < size - 1)
		size = len - 4 + 1;
	r = in->mem.read(in->mem.ctx, ptr + 4, buf, size - 1);
	buf[r > 0 ? r : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* "in read_field (crash-null.c:31)" for the blamed frame. */
static void where(const struct sb_crash_report *r, char *buf, size_t size)
{
	const struct sb_crash_thread *t = &r->threads[0];
	const struct sb_symbol_info *s;
	char name[256], fl[256];

	if (!t->nframes) {
		buf[0] = '\0';
		return;
	}
	s = &t->frames[r->blame].sym;
	sb_report_file_line(s, fl, sizeof(fl));
	snprintf(buf, size, "in %s%s%s%s",
		 sb_report_frame_name(s, name, sizeof(name)), fl[0] ? " (" : "",
		 fl, fl[0] ? ")" : "");
}

static void thread_words(const struct sb_crash_thread *t, char *buf,
			 size_t size)
{
	if (t->name[0])
		snprintf(buf, size, "thread %d '%s'", (int)t->tid, t->name);
	else
		snprintf(buf, size, "thread %d", (int)t->tid);
}

/* The longest run of one function calling itself, for stack overflows. */
static int recursion(const struct sb_crash_thread *t, int *at)
{
	int best = 0, i, run = 1;

	*at = 0;
	for (i = 1; i <= t->nframes; i++) {
		if (i < t->nframes &&
		    sb_sym_frame_same(&t->frames[i], &t->frames[i - 1])) {
			run++;
			continue;
		}
		if (run > best) {
			best = run;
			*at = i - run;
		}
		run = 1;
	}
	return best;
}

static bool is_stack_overflow(const struct sb_crash_input *in,
			      const struct user_regs_struct *regs,
			      const struct sb_map *fault)
{
	uint64_t sp = regs->rsp, a = in->addr;

	if (fault && (fault->r || fault->w || fault->x))
		return false; /* a usable mapping is not the guard */
	return a + STACK_SLACK >= sp && a <= sp + STACK_SLACK;
}

static enum sb_crash_cause classify_abort(const char *msg)
{
	if (strstr(msg, "Assertion `"))
		return SB_CAUSE_ASSERTION;
	if (strstr(msg, "stack smashing detected"))
		return SB_CAUSE_STACK_SMASHING;
	if (strstr(msg, "buffer overflow detected") || strstr(msg, "fortify"))
		return SB_CAUSE_FORTIFY;
	if (strstr(msg, "double free") || strstr(msg, "corrupted") ||
	    strstr(msg, "free(): ") || strstr(msg, "malloc(): ") ||
	    strstr(msg, "realloc(): ") || strstr(msg, "munmap_chunk") ||
	    strstr(msg, "malloc_consolidate") || strstr(msg, "tcache"))
		return SB_CAUSE_HEAP_CORRUPTION;
	return SB_CAUSE_ABORT;
}

/* "expr" out of "prog: file.c:12: func: Assertion `expr' failed." */
static void assertion_expr(const char *msg, char *buf, size_t size)
{
	const char *a = strstr(msg, "Assertion `"), *e;

	buf[0] = '\0';
	if (!a)
		return;
	a += strlen("Assertion `");
	e = strstr(a, "' failed");
	if (!e)
		e = a + strlen(a);
	snprintf(buf, size, "%.*s", (int)(e - a), a);
}

static void diagnose(const struct sb_crash_input *in, struct sb_crash_report *r)
{
	const struct user_regs_struct *regs = &in->regs[0];
	const struct sb_crash_thread *t = &r->threads[0];
	const struct sb_map *fault = sb_maps_find(in->maps, in->addr);
	char at[600], who[64], sect[64] = "", expr[400];
	const char *mod;
	int depth, from;

	where(r, at, sizeof(at));
	thread_words(t, who, sizeof(who));
	r->cause = SB_CAUSE_OTHER;
	/* A signal a process sent is a kill, whatever its number: its
	 * "address" is the sender's pid.  abort() sends SIGABRT to itself,
	 * and has its own story below. */
	if (in->code <= 0 && in->code != SI_KERNEL &&
	    !(in->signo == SIGABRT && in->sender_pid == in->pid)) {
		r->cause = SB_CAUSE_KILLED;
		if (in->sender_pid == in->pid)
			snprintf(r->summary, sizeof(r->summary),
				 "killed by %s that the process sent itself "
				 "(raise or kill); %s was %s",
				 sb_crash_signal_name(in->signo), who, at);
		else
			snprintf(r->summary, sizeof(r->summary),
				 "killed by %s, sent by pid %d (uid %u); %s "
				 "was %s",
				 sb_crash_signal_name(in->signo),
				 (int)in->sender_pid, (unsigned)in->sender_uid,
				 who, at);
		return;
	}
	/* A general protection fault (a non-canonical address such as
	 * 0xdead000000000000) comes with no address at all. */
	if (in->signo == SIGSEGV && in->code == SI_KERNEL) {
		r->cause = SB_CAUSE_BAD_ADDRESS;
		snprintf(r->summary, sizeof(r->summary),
			 "general protection fault (a wild pointer: a "
			 "non-canonical address, the kernel gives none) by %s "
			 "%s",
			 who, at);
		return;
	}
	switch (in->signo) {
	case SIGSEGV:
		if (regs->rip == in->addr) {
			r->cause = in->addr < NULL_PAGE_LIMIT ?
					   SB_CAUSE_NULL_CALL :
					   SB_CAUSE_BAD_ADDRESS;
			snprintf(r->summary, sizeof(r->summary),
				 "call through a %s function pointer (0x%llx) "
				 "by %s, from %s",
				 in->addr < NULL_PAGE_LIMIT ? "NULL" : "wild",
				 (unsigned long long)in->addr, who, at + 3);
		} else if (is_stack_overflow(in, regs, fault)) {
			r->cause = SB_CAUSE_STACK_OVERFLOW;
			depth = recursion(t, &from);
			if (depth > 1) {
				char name[256], fl[256];
				const struct sb_symbol_info *s =
					&t->frames[from].sym;

				sb_report_file_line(s, fl, sizeof(fl));
				snprintf(
					r->summary, sizeof(r->summary),
					"stack overflow in %s: %s calls itself "
					"%d times%s%s%s",
					who,
					sb_report_frame_name(s, name,
							     sizeof(name)),
					depth - 1, fl[0] ? " (" : "", fl,
					fl[0] ? ")" : "");
			} else {
				snprintf(r->summary, sizeof(r->summary),
					 "stack overflow in %s %s", who, at);
			}
		} else if (in->addr < NULL_PAGE_LIMIT) {
			r->cause = SB_CAUSE_NULL_DEREF;
			snprintf(r->summary, sizeof(r->summary),
				 "NULL pointer dereference: %s accessed "
				 "address 0x%llx (offset 0x%llx from NULL) %s",
				 who, (unsigned long long)in->addr,
				 (unsigned long long)in->addr, at);
		} else if (in->code == SEGV_ACCERR && fault && !fault->w) {
			r->cause = SB_CAUSE_WRITE_READONLY;
			mod = fault->path[0] ?
				      sb_report_module_name(fault->path) :
				      "anonymous memory";
			sb_syms_section(in->syms, in->maps, in->addr, sect,
					sizeof(sect));
			snprintf(r->summary, sizeof(r->summary),
				 "write to read-only memory at 0x%llx (%s%s%s) "
				 "by %s %s",
				 (unsigned long long)in->addr, sect,
				 sect[0] ? " of " : "", mod, who, at);
		} else {
			r->cause = SB_CAUSE_BAD_ADDRESS;
			snprintf(r->summary, sizeof(r->summary),
				 "access to %s memory at 0x%llx by %s %s",
				 fault ? "protected" : "unmapped",
				 (unsigned long long)in->addr, who, at);
		}
		break;
	case SIGFPE:
		r->cause = in->code == FPE_INTDIV ? SB_CAUSE_DIVIDE_BY_ZERO :
						    SB_CAUSE_OTHER;
		snprintf(r->summary, sizeof(r->summary), "%s in %s %s",
			 in->code == FPE_INTDIV ? "integer divide by zero" :
						  "arithmetic exception",
			 who, at);
		break;
	case SIGILL:
		r->cause = SB_CAUSE_ILLEGAL_INSTRUCTION;
		snprintf(r->summary, sizeof(r->summary),
			 "illegal instruction at 0x%llx (a __builtin_trap, "
			 "unreachable code, or a jump into data) in %s %s",
			 (unsigned long long)regs->rip, who, at);
		break;
	case SIGBUS:
		r->cause = SB_CAUSE_BUS_ERROR;
		snprintf(r->summary, sizeof(r->summary),
			 "bus error at 0x%llx (%s) in %s %s",
			 (unsigned long long)in->addr,
			 in->code == BUS_ADRERR && fault && fault->path[0] ?
				 "past the end of a mapped file" :
				 "bad alignment or missing backing",
			 who, at);
		break;
	case SIGABRT:
		r->cause = r->abort_message[0] ?
				   classify_abort(r->abort_message) :
				   SB_CAUSE_ABORT;
		if (r->cause == SB_CAUSE_ASSERTION) {
			assertion_expr(r->abort_message, expr, sizeof(expr));
			snprintf(r->summary, sizeof(r->summary),
				 "assertion failed %s: %s", at, expr);
		} else if (r->abort_message[0]) {
			snprintf(r->summary, sizeof(r->summary),
				 "%s: glibc said \"%s\" %s",
				 r->cause == SB_CAUSE_HEAP_CORRUPTION ?
					 "heap corruption" :
				 r->cause == SB_CAUSE_STACK_SMASHING ?
					 "stack smashing (a buffer overflow on "
					 "the stack)" :
				 r->cause == SB_CAUSE_FORTIFY ?
					 "buffer overflow caught by "
					 "FORTIFY_SOURCE" :
					 "abort",
				 r->abort_message, at);
		} else {
			snprintf(r->summary, sizeof(r->summary),
				 "abort() called %s", at);
		}
		break;
	default:
		snprintf(r->summary, sizeof(r->summary), "%s in %s %s",
			 sb_crash_signal_name(in->signo), who, at);
		break;
	}
}

/* FNV-1a over what identifies a crash, not where things were loaded. */
static void make_signature(const struct sb_crash_input *in,
			   struct sb_crash_report *r)
{
	const struct sb_crash_thread *t = &r->threads[0];
	uint64_t h = 0xcbf29ce484222325ull;
	char name[256];
	const char *parts[3];
	int i, k, shown = 0;

	parts[0] = in->exe ? sb_report_module_name(in->exe) : "?";
	parts[1] = sb_crash_signal_name(in->signo);
	parts[2] = sb_crash_cause_str(r->cause);
	for (k = 0; k < 3; k++) {
		for (i = 0; parts[k][i]; i++)
			h = (h ^ (unsigned char)parts[k][i]) * 0x100000001b3ull;
		h = (h ^ '|') * 0x100000001b3ull;
	}
	for (i = r->blame; i < t->nframes && shown < 5; i++) {
		const char *s;

		if (i > r->blame &&
		    sb_sym_frame_same(&t->frames[i], &t->frames[i - 1]))
			continue; /* recursion counts once */
		s = t->frames[i].sym.function ?
			    t->frames[i].sym.function :
			    sb_report_module_name(t->frames[i].sym.module);
		snprintf(name, sizeof(name), "|%s", s);
		for (k = 0; name[k]; k++)
			h = (h ^ (unsigned char)name[k]) * 0x100000001b3ull;
		shown++;
	}
	snprintf(r->signature, sizeof(r->signature), "%016llx",
		 (unsigned long long)h);
}

static void group_threads(struct sb_crash_report *r)
{
	int i, j, k;

	for (i = 1; i < r->nthreads; i++) {
		struct sb_crash_thread *t = &r->threads[i];

		t->group = -1;
		for (j = 1; j < i && t->group < 0; j++) {
			const struct sb_crash_thread *o = &r->threads[j];

			if (o->nframes != t->nframes)
				continue;
			for (k = 0;
			     k < t->nframes &&
			     sb_sym_frame_same(&t->frames[k], &o->frames[k]);
			     k++)
				;
			if (k == t->nframes)
				t->group = o->group;
		}
		if (t->group < 0)
			t->group = r->ngroups++;
	}
}

int sb_crash_analyze(const struct sb_crash_input *in, struct sb_crash_report *r)
{
	struct sb_unwinder *u;
	int i, err = 0;

	memset(r, 0, sizeof(*r));
	r->signo = in->signo;
	r->code = in->code;
	r->addr = in->addr;
	r->sender_pid = in->sender_pid;
	r->sender_uid = in->sender_uid;
	r->threads = calloc((size_t)in->nthreads + 1, sizeof(*r->threads));
	u = sb_unwinder_new(&in->mem, in->maps);
	if (!r->threads || !u) {
		sb_unwinder_free(u);
		return -ENOMEM;
	}
	for (i = 0; i < in->nthreads && !err; i++) {
		err = name_thread(u, in, i,
				  i == 0 ? SB_CRASH_MAX_FRAMES :
					   SB_CRASH_OTHER_FRAMES,
				  &r->threads[i]);
		r->nthreads = i + 1;
	}
	sb_unwinder_free(u);
	if (err)
		return err;
	r->blame = blame_frame(&r->threads[0]);
	if (in->signo == SIGABRT)
		read_abort_msg(in, r->abort_message, sizeof(r->abort_message));
	diagnose(in, r);
	make_signature(in, r);
	group_threads(r);
	return 0;
}

void sb_crash_report_free(struct sb_crash_report *r)
{
	int i;

	for (i = 0; i < r->nthreads; i++)
		free(r->threads[i].frames);
	free(r->threads);
	memset(r, 0, sizeof(*r));
}
