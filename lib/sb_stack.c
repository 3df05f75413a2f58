/* sb_stack.c: libunwind's DWARF CFI engine over accessors of our own. */
#include "sb_stack.h"

#include <elf.h>
#include <errno.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>

/*
 * Exported by libunwind-x86_64.so.8 but declared in no header: the search
 * of an .eh_frame_hdr binary-search table, reading through our access_mem.
 * perf's unwind-libunwind-local.c relies on it the same way.
 */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as,
					      unw_word_t ip, unw_dyn_info_t *di,
					      unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

#define PAGE 4096u
#define NPAGES 64 /* a walk touches few pages: stack, tables, text */
#define NTABLES 128
#define MAX_PHDRS 64

#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_datarel 0x30

struct page {
	uint64_t addr; /* page address, UINT64_MAX when empty */
	size_t len; /* bytes readable from addr */
	bool stable; /* of a read-only mapping: kept from walk to walk */
	unsigned char data[PAGE];
};

/* The unwind table of one loaded module, found in target memory. */
struct eh_table {
	uint64_t base; /* where its ELF header is mapped */
	uint64_t start_ip, end_ip;
	uint64_t hdr; /* .eh_frame_hdr address */
	uint64_t fde_count;
	bool usable;
};

struct sb_unwinder {
	struct sb_memsrc mem;
	const struct sb_maps *maps;
	unw_addr_space_t as;
	struct page *pages;
	struct eh_table tables[NTABLES];
	int ntables;
	const struct user_regs_struct *regs; /* of the walk under way */
};

const char *sb_stack_end_str(enum sb_stack_end end)
{
	switch (end) {
	case SB_STACK_END_OUTERMOST:
		return "outermost frame";
	case SB_STACK_END_DEPTH:
		return "depth limit";
	case SB_STACK_END_LOOP:
		return "frames repeat (corrupt stack?)";
	case SB_STACK_END_BAD_IP:
		return "return address outside code (corrupt stack?)";
	case SB_STACK_END_NO_INFO:
		return "no unwind information";
	case SB_STACK_END_ERROR:
		return "unreadable memory";
	}
	return "?";
}

static ssize_t live_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	pid_t pid = (pid_t)(intptr_t)ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr,
				.iov_len = len };
	ssize_t r = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	return r < 0 ? -errno : r;
}

struct sb_memsrc sb_memsrc_live(pid_t pid)
{
	return (struct sb_memsrc){ .read = live_read,
				   .ctx = (void *)(intptr_t)pid };
}

/* Read len bytes at addr through the page cache; 0 or -EFAULT. */
static int mem_read(struct sb_unwinder *u, uint64_t addr, void *buf, size_t len)
{
	unsigned char *out = buf;

	while (len) {
		uint64_t pa = addr & ~(uint64_t)(PAGE - 1);
		size_t off = (size_t)(addr - pa), n;
		struct page *p = &u->pages[(pa / PAGE) % NPAGES];

		if (p->addr != pa) {
			ssize_t r = u->mem.read(u->mem.ctx, pa, p->data, PAGE);
			const struct sb_map *m;

			p->addr = UINT64_MAX;
			if (r <= 0)
				return -EFAULT;
			p->addr = pa;
			p->len = (size_t)r;
			m = sb_maps_find(u->maps, pa);
			p->stable = m && !m->w && p->len == PAGE;
		}
		n = PAGE - off < len ? PAGE - off : len;
		if (off + n > p->len)
			return -EFAULT;
		memcpy(out, p->data + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}

/*
 * Forget the pages read; with all false, keep those of read-only mappings
 * (code, unwind tables), which cannot change while the maps stay the
 * same: the next thread's walk through the same libraries reads them
 * again for nothing.
 */
static void flush_pages(struct sb_unwinder *u, bool all)
{
	int i;

	for (i = 0; i < NPAGES; i++)
		if (all || !u->pages[i].stable) {
			u->pages[i].addr = UINT64_MAX;
			u->pages[i].stable = false;
		}
}

/*
 * Locate the module's .eh_frame_hdr from the ELF and program headers in
 * target memory.  Everything read is checked: the target may be corrupt.
 */
static void load_table(struct sb_unwinder *u, struct eh_table *t)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[MAX_PHDRS];
	uint64_t bias = 0, ehframe = 0, lo = UINT64_MAX, hi = 0;
	unsigned char hdr[12];
	bool have_bias = false;
	int i;

	t->usable = false;
	if (mem_read(u, t->base, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > MAX_PHDRS || eh.e_phoff > (1u << 20) ||
	    mem_read(u, t->base + eh.e_phoff, ph,
		     eh.e_phnum * sizeof(Elf64_Phdr)))
		return;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 &&
		    !have_bias) {
			bias = t->base -
			       (ph[i].p_vaddr & ~(uint64_t)(PAGE - 1));
			have_bias = true;
		}
	}
	if (!have_bias)
		return;
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			ehframe = bias + ph[i].p_vaddr;
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) {
			if (bias + ph[i].p_vaddr < lo)
				lo = bias + ph[i].p_vaddr;
			if (bias + ph[i].p_vaddr + ph[i].p_memsz > hi)
				hi = bias + ph[i].p_vaddr + ph[i].p_memsz;
		}
	}
	/* Only the layout every toolchain emits: version 1, a 4-byte FDE
	 * count, and a table of 4-byte offsets from the header. */
	if (!ehframe || lo >= hi || mem_read(u, ehframe, hdr, sizeof(hdr)) ||
	    hdr[0] != 1 ||
	    ((hdr[1] & 0x0f) != DW_EH_PE_udata4 &&
	     (hdr[1] & 0x0f) != DW_EH_PE_sdata4) ||
	    hdr[2] != DW_EH_PE_udata4 ||
	    hdr[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return;
	memcpy(&t->fde_count, hdr + 8, 4);
	t->fde_count &= 0xffffffffu;
	if (t->fde_count == 0 || t->fde_count > (1u << 24))
		return;
	t->hdr = ehframe;
	t->start_ip = lo;
	t->end_ip = hi;
	t->usable = true;
}

static struct eh_table *table_for(struct sb_unwinder *u, uint64_t ip)
{
	const struct sb_map *m = sb_maps_find(u->maps, ip), *base;
	struct eh_table *t;
	int i;

	if (!m || !m->x)
		return NULL;
	base = sb_maps_module_base(u->maps, m);
	if (!base)
		return NULL;
	for (i = 0; i < u->ntables; i++)
		if (u->tables[i].base == base->start)
			return u->tables[i].usable ? &u->tables[i] : NULL;
	if (u->ntables == NTABLES)
		u->ntables = 0; /* a process with that many modules: recycle */
	t = &u->tables[u->ntables++];
	memset(t, 0, sizeof(*t));
	t->base = base->start;
	load_table(u, t);
	return t->usable ? t : NULL;
}

static int acc_find_proc_info(unw_addr_space_t as, unw_word_t ip,
			      unw_proc_info_t *pi, int need_unwind_info,
			      void *arg)
{
	struct sb_unwinder *u = arg;
	struct eh_table *t = table_for(u, ip);
	unw_dyn_info_t di;

	if (!t)
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = t->start_ip;
	di.end_ip = t->end_ip;
	di.u.rti.segbase = t->hdr;
	di.u.rti.table_data = t->hdr + 12;
	di.u.rti.table_len = t->fde_count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi,
						  need_unwind_info, arg);
}

static void acc_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi,
				void *arg)
{
	/* libunwind frees what the table search allocated itself. */
	(void)as;
	(void)pi;
	(void)arg;
}

static int acc_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr,
				      void *arg)
{
	(void)as;
	(void)addr;
	(void)arg;
	return -UNW_ENOINFO;
}

static int acc_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val,
			  int write, void *arg)
{
	(void)as;
	if (write)
		return -UNW_EINVAL;
	return mem_read(arg, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
}

static int acc_access_reg(unw_addr_space_t as, unw_regnum_t reg,
			  unw_word_t *val, int write, void *arg)
{
	const struct user_regs_struct *r = ((struct sb_unwinder *)arg)->regs;

	(void)as;
	if (write)
		return -UNW_EINVAL;
	switch (reg) {
	case UNW_X86_64_RAX:
		*val = r->rax;
		break;
	case UNW_X86_64_RDX:
		*val = r->rdx;
		break;
	case UNW_X86_64_RCX:
		*val = r->rcx;
		break;
	case UNW_X86_64_RBX:
		*val = r->rbx;
		break;
	case UNW_X86_64_RSI:
		*val = r->rsi;
		break;
	case UNW_X86_64_RDI:
		*val = r->rdi;
		break;
	case UNW_X86_64_RBP:
		*val = r->rbp;
		break;
	case UNW_X86_64_RSP:
		*val = r->rsp;
		break;
	case UNW_X86_64_R8:
		*val = r->r8;
		break;
	case UNW_X86_64_R9:
		*val = r->r9;
		break;
	case UNW_X86_64_R10:
		*val = r->r10;
		break;
	case UNW_X86_64_R11:
		*val = r->r11;
		break;
	case UNW_X86_64_R12:
		*val = r->r12;
		break;
	case UNW_X86_64_R13:
		*val = r->r13;
		break;
	case UNW_X86_64_R14:
		*val = r->r14;
		break;
	case UNW_X86_64_R15:
		*val = r->r15;
		break;
	case UNW_X86_64_RIP:
		*val = r->rip;
		break;
	default:
		return -UNW_EBADREG;
	}
	return 0;
}

static int acc_access_fpreg(unw_addr_space_t as, unw_regnum_t reg,
			    unw_fpreg_t *val, int write, void *arg)
{
	(void)as;
	(void)reg;
	(void)val;
	(void)write;
	(void)arg;
	return -UNW_EBADREG;
}

static int acc_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as;
	(void)c;
	(void)arg;
	return -UNW_EINVAL;
}

static unw_accessors_t accessors = {
	.find_proc_info = acc_find_proc_info,
	.put_unwind_info = acc_put_unwind_info,
	.get_dyn_info_list_addr = acc_get_dyn_info_list_addr,
	.access_mem = acc_access_mem,
	.access_reg = acc_access_reg,
	.access_fpreg = acc_access_fpreg,
	.resume = acc_resume,
	.get_proc_name = NULL, /* names come from sb_syms, after resume */
};

struct sb_unwinder *sb_unwinder_new(const struct sb_memsrc *mem,
				    const struct sb_maps *maps)
{
	struct sb_unwinder *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->pages = malloc(NPAGES * sizeof(*u->pages));
	u->as = unw_create_addr_space(&accessors, 0);
	if (!u->pages || !u->as) {
		sb_unwinder_free(u);
		return NULL;
	}
	unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
	u->mem = *mem;
	u->maps = maps;
	flush_pages(u, true);
	return u;
}

void sb_unwinder_set_maps(struct sb_unwinder *u, const struct sb_maps *maps)
{
	u->maps = maps;
	u->ntables = 0;
	flush_pages(u, true);
	unw_flush_cache(u->as, 0, 0);
}

static bool executable(const struct sb_maps *maps, uint64_t ip)
{
	const struct sb_map *m = sb_maps_find(maps, ip);

	return m && m->x;
}

int sb_unwind_regs(struct sb_unwinder *u, const struct user_regs_struct *regs,
		   struct sb_frame *out, int max, enum sb_stack_end *end)
{
	unw_cursor_t c;
	int n = 0, r;
	bool sig;

	*end = SB_STACK_END_ERROR;
	if (max <= 0)
		return 0;
	if (!u->mem.immutable)
		flush_pages(u, false); /* the stack moved since the last stop */
	u->regs = regs;
	out[0] = (struct sb_frame){ .ip = regs->rip,
				    .sp = regs->rsp,
				    .exact = true };
	if (unw_init_remote(&c, u->as, u) < 0)
		return 1;
	for (;;) {
		unw_word_t ip = 0, sp = 0;
		struct sb_frame *f = &out[n];

		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&c, UNW_REG_SP, &sp) < 0)
			break;
		f->ip = ip;
		f->sp = sp;
		/*
		 * libunwind 1.6.2 says "signal frame" on the frame the signal
		 * interrupted, one past the sigreturn trampoline: that frame's
		 * ip is the interrupted instruction itself, and the one before
		 * is the trampoline, whose ip is exact too (the handler's
		 * return address is its first byte).
		 */
		sig = unw_is_signal_frame(&c) > 0;
		f->exact = n == 0 || sig;
		f->signal = false;
		if (sig && n > 0) {
			out[n - 1].signal = true;
			out[n - 1].exact = true;
		}
		if (ip == 0) {
			*end = SB_STACK_END_OUTERMOST;
			break;
		}
		if (!executable(u->maps, f->exact ? ip : ip - 1)) {
			*end = SB_STACK_END_BAD_IP;
			break;
		}
		/* Garbage caught mid-clone repeats one frame (PLATFORM.md,
		 * section 1, pitfall 4); the stack only grows upwards. */
		/* (An alternate signal stack may lie anywhere.) */
		if (n > 0 && !sig &&
		    (sp < out[n - 1].sp ||
		     (sp == out[n - 1].sp && ip == out[n - 1].ip))) {
			*end = SB_STACK_END_LOOP;
			break;
		}
		if (++n == max) {
			*end = SB_STACK_END_DEPTH;
			break;
		}
		r = unw_step(&c);
		if (r == 0) {
			*end = SB_STACK_END_OUTERMOST;
			break;
		}
		if (r < 0) {
			*end = r == -UNW_ENOINFO ? SB_STACK_END_NO_INFO :
						   SB_STACK_END_ERROR;
			break;
		}
	}
	return n ? n : 1;
}

int sb_unwind_thread(struct sb_unwinder *u, pid_t tid, struct sb_frame *out,
		     int max, enum sb_stack_end *end)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0)
		return -errno;
	return sb_unwind_regs(u, &regs, out, max, end);
}

void sb_unwinder_free(struct sb_unwinder *u)
{
	if (!u)
		return;
	if (u->as)
		unw_destroy_addr_space(u->as);
	free(u->pages);
	free(u);
}
