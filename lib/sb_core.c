/* sb_core.c: read an ELF core with libelf, checking every size it claims. */
#include "sb_core.h"
#include "sb_util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_THREADS 65536
#define MAX_FILES 65536
#define MAX_FDS 64

struct segment {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;
};

struct backing {
	char *path; /* as mapped */
	int fd; /* -1: could not open */
};

struct core_priv {
	int fd;
	Elf *elf;
	struct segment *segs; /* PT_LOAD, sorted by vaddr */
	size_t nsegs;
	uint64_t *auxv; /* key, value pairs */
	size_t nauxv;
	char *sysroot, *exe_override;
	struct backing fds[MAX_FDS];
	int nfds;
	uint64_t notes[16]; /* offsets of the note segments read */
	int nnotes;
};

static int cmp_seg(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;

	return (x->vaddr > y->vaddr) - (x->vaddr < y->vaddr);
}

static void read_prstatus(struct sb_core *c, const void *desc, size_t size)
{
	struct elf_prstatus pr;
	struct sb_core_thread *t;

	if (size < sizeof(pr) || c->nthreads >= MAX_THREADS)
		return;
	memcpy(&pr, desc, sizeof(pr));
	t = realloc(c->threads, (size_t)(c->nthreads + 1) * sizeof(*t));
	if (!t)
		return;
	c->threads = t;
	t = &c->threads[c->nthreads++];
	t->tid = pr.pr_pid;
	memcpy(&t->regs, &pr.pr_reg, sizeof(t->regs));
}

static void read_psinfo(struct sb_core *c, const void *desc, size_t size)
{
	struct elf_prpsinfo ps;

	if (size < sizeof(ps))
		return;
	memcpy(&ps, desc, sizeof(ps));
	memcpy(c->fname, ps.pr_fname, sizeof(ps.pr_fname));
	c->fname[sizeof(c->fname) - 1] = '\0';
	memcpy(c->psargs, ps.pr_psargs, sizeof(ps.pr_psargs));
	c->psargs[sizeof(c->psargs) - 1] = '\0';
	/* The kernel pads the arguments with a space. */
	while (c->psargs[0] && c->psargs[strlen(c->psargs) - 1] == ' ')
		c->psargs[strlen(c->psargs) - 1] = '\0';
	c->pid = ps.pr_pid;
	c->uid = ps.pr_uid;
}

static void read_siginfo(struct sb_core *c, const void *desc, size_t size)
{
	const unsigned char *p = desc;
	int32_t v[3];
	uint64_t addr;
	uint32_t pid, uid;

	/* siginfo_t on x86_64: signo, errno, code, pad, then the union. */
	if (size < 32)
		return;
	memcpy(v, p, sizeof(v));
	memcpy(&addr, p + 16, 8);
	memcpy(&pid, p + 16, 4);
	memcpy(&uid, p + 20, 4);
	c->sig.present = true;
	c->sig.signo = v[0];
	c->sig.err = v[1];
	c->sig.code = v[2];
	c->sig.addr = addr;
	c->sig.sender_pid = (pid_t)pid;
	c->sig.sender_uid = (uid_t)uid;
}

static void read_auxv(struct core_priv *p, const void *desc, size_t size)
{
	size_t n = size / 16;

	free(p->auxv);
	p->auxv = malloc(n * 16 + 1);
	if (!p->auxv)
		return;
	memcpy(p->auxv, desc, n * 16);
	p->nauxv = n;
}

/*
 * NT_FILE: {count, page_size}, count x {start, end, pgoff}, then count
 * NUL-terminated paths.  Every count and string is checked against the
 * note's size before it is believed.
 */
static int read_files(struct sb_core *c, const void *desc, size_t size)
{
	const unsigned char *p = desc, *names, *end = p + size;
	uint64_t count, page, i;

	if (size < 16)
		return -EINVAL;
	memcpy(&count, p, 8);
	memcpy(&page, p + 8, 8);
	if (count > MAX_FILES || c->maps.n + count > MAX_FILES ||
	    count > (size - 16) / 24 || page == 0 || (page & (page - 1)))
		return -EINVAL;
	names = p + 16 + count * 24;
	for (i = 0; i < count; i++) {
		uint64_t e[3];
		struct sb_map m = { 0 };
		const unsigned char *nul =
			memchr(names, '\0', (size_t)(end - names));

		if (!nul)
			return -EINVAL;
		memcpy(e, p + 16 + i * 24, sizeof(e));
		if (e[0] >= e[1] || e[2] > UINT64_MAX / page)
			return -EINVAL;
		m.start = e[0];
		m.end = e[1];
		m.offset = e[2] * page;
		if (sb_maps_add(&c->maps, &m, (const char *)names))
			return -ENOMEM;
		names = nul + 1;
	}
	return 0;
}

/* Whether a note segment at this offset was read already. */
static bool note_seen(struct core_priv *p, uint64_t offset)
{
	int i;

	for (i = 0; i < p->nnotes; i++)
		if (p->notes[i] == offset)
			return true;
	if (p->nnotes < (int)(sizeof(p->notes) / sizeof(p->notes[0])))
		p->notes[p->nnotes++] = offset;
	else
		return true; /* more note segments than any kernel writes */
	return false;
}

static int read_notes(struct sb_core *c, struct core_priv *p,
		      const GElf_Phdr *ph)
{
	Elf_Data *d = elf_getdata_rawchunk(p->elf, (int64_t)ph->p_offset,
					   ph->p_filesz, ELF_T_NHDR);
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;
	int err = 0;

	if (!d)
		return -EIO;
	while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		const char *name = (const char *)d->d_buf + noff;
		const void *desc = (const char *)d->d_buf + doff;

		if (doff + nh.n_descsz > d->d_size)
			return -EIO;
		if (nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0) {
			switch (nh.n_type) {
			case NT_PRSTATUS:
				read_prstatus(c, desc, nh.n_descsz);
				break;
			case NT_PRPSINFO:
				read_psinfo(c, desc, nh.n_descsz);
				break;
			case NT_SIGINFO:
				read_siginfo(c, desc, nh.n_descsz);
				break;
			case NT_AUXV:
				read_auxv(p, desc, nh.n_descsz);
				break;
			case NT_FILE:
				err = read_files(c, desc, nh.n_descsz);
				if (err)
					return err;
				break;
			}
		}
	}
	return 0;
}

uint64_t sb_core_auxv(const struct sb_core *core, uint64_t type)
{
	const struct core_priv *p = core->priv;
	size_t i;

	for (i = 0; p->auxv && i < p->nauxv; i++)
		if (p->auxv[2 * i] == type)
			return p->auxv[2 * i + 1];
	return 0;
}

/*
 * Mappings: each PT_LOAD is one, with its permissions; NT_FILE names the
 * file behind those that have one.  The vDSO is named from the auxv.
 */
static int build_maps(struct sb_core *c, struct core_priv *p)
{
	struct sb_maps files = c->maps;
	size_t i, j;
	int err = 0;

	memset(&c->maps, 0, sizeof(c->maps));
	sb_maps_sort(&files);
	for (i = 0; i < p->nsegs && !err; i++) {
		const struct segment *s = &p->segs[i];
		struct sb_map m = { .start = s->vaddr,
				    .end = s->vaddr + s->memsz,
				    .r = s->flags & PF_R,
				    .w = s->flags & PF_W,
				    .x = s->flags & PF_X };
		const char *path = "";

		if (!s->memsz)
			continue;
		{
			/* files is sorted: a search, not a scan per segment */
			const struct sb_map *f = sb_maps_find(&files, s->vaddr);

			if (f && f->start == s->vaddr) {
				m.offset = f->offset;
				path = f->path;
			}
		}
		if (!path[0] && c->vdso && s->vaddr == c->vdso)
			path = "[vdso]";
		err = sb_maps_add(&c->maps, &m, path);
	}
	sb_maps_sort(&c->maps);
	/*
	 * gdb's gcore leaves unmodified file text out of the core, segment
	 * and all: NT_FILE is then the only trace of it.  Such a mapping is
	 * taken as code (its permissions are unknown); its bytes come from
	 * the file.
	 */
	for (j = 0; j < files.n && !err; j++) {
		struct sb_map m = files.v[j];

		if (sb_maps_find(&c->maps, m.start) ||
		    sb_maps_find(&c->maps, m.end - 1))
			continue;
		m.r = m.x = true;
		err = sb_maps_add(&c->maps, &m, files.v[j].path);
	}
	sb_maps_sort(&c->maps);
	/* The executable: the file mapped where the program was entered. */
	{
		const struct sb_map *m =
			sb_maps_find(&c->maps, sb_core_auxv(c, AT_ENTRY));

		if (m && m->path[0] == '/')
			c->exe = strdup(m->path);
	}
	sb_maps_free(&files);
	return err;
}

static void human_size(uint64_t v, char *buf, size_t size)
{
	if (v >= 10u << 20)
		snprintf(buf, size, "%llu MB", (unsigned long long)(v >> 20));
	else if (v >= 10u << 10)
		snprintf(buf, size, "%llu KB", (unsigned long long)(v >> 10));
	else
		snprintf(buf, size, "%llu bytes", (unsigned long long)v);
}

int sb_core_open(const char *path, const struct sb_core_opts *opts,
		 struct sb_core **out, char *err, size_t errsize)
{
	struct sb_core *c = calloc(1, sizeof(*c));
	struct core_priv *p = calloc(1, sizeof(*p));
	GElf_Ehdr eh;
	struct stat st;
	size_t nphdr, i;
	int rc = 0;

	*out = NULL;
	err[0] = '\0';
	if (!c || !p) {
		free(c);
		free(p);
		return -ENOMEM;
	}
	c->priv = p;
	c->path = path;
	p->fd = -1;
	p->sysroot = strdup(opts && opts->sysroot ? opts->sysroot : "");
	p->exe_override = opts && opts->exe ? strdup(opts->exe) : NULL;
	elf_version(EV_CURRENT);
	p->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0) {
		rc = -errno;
		snprintf(err, errsize, "cannot open '%s': %s", path,
			 strerror(-rc));
		goto fail;
	}
	if (fstat(p->fd, &st) || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errsize, "'%s' is %s", path,
			 "not a regular file");
		goto fail;
	}
	c->file_size = (uint64_t)st.st_size;
	p->elf = elf_begin(p->fd, ELF_C_READ_MMAP, NULL);
	if (!p->elf || elf_kind(p->elf) != ELF_K_ELF ||
	    !gelf_getehdr(p->elf, &eh)) {
		rc = -ENOEXEC;
		snprintf(err, errsize, "'%s' is %s", path, "not an ELF file");
		goto fail;
	}
	if (eh.e_type != ET_CORE) {
		rc = -EINVAL;
		snprintf(
			err, errsize, "'%s' is %s", path,
			"an ELF file but not a core dump (e_type is not ET_CORE)");
		goto fail;
	}
	if (gelf_getclass(p->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		rc = -EINVAL;
		snprintf(
			err, errsize, "'%s' is %s", path,
			"a core of another architecture (only x86_64 is read)");
		goto fail;
	}
	if (elf_getphdrnum(p->elf, &nphdr) || nphdr > (1u << 20)) {
		rc = -EIO;
		snprintf(err, errsize, "'%s' has %s", path,
			 "an unreadable program header table");
		goto fail;
	}
	p->segs = calloc(nphdr + 1, sizeof(*p->segs));
	if (!p->segs) {
		rc = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(p->elf, (int)i, &ph))
			continue;
		if (ph.p_offset + ph.p_filesz > c->needed_size &&
		    ph.p_offset + ph.p_filesz >= ph.p_offset)
			c->needed_size = ph.p_offset + ph.p_filesz;
		if (ph.p_type == PT_LOAD &&
		    ph.p_vaddr + ph.p_memsz > ph.p_vaddr)
			p->segs[p->nsegs++] =
				(struct segment){ .vaddr = ph.p_vaddr,
						  .memsz = ph.p_memsz,
						  .offset = ph.p_offset,
						  .filesz = ph.p_filesz,
						  .flags = ph.p_flags };
		if (ph.p_type == PT_NOTE) {
			/* The same notes twice (a hostile core repeating a
			 * header) must not be counted twice. */
			if (note_seen(p, ph.p_offset))
				continue;
			if (ph.p_offset + ph.p_filesz > c->file_size) {
				rc = -EIO;
				break;
			}
			rc = read_notes(c, p, &ph);
			if (rc)
				break;
		}
	}
	if (rc) {
		snprintf(err, errsize, "'%s' has %s", path,
			 "notes that cannot be read (corrupt, or cut short)");
		goto fail;
	}
	qsort(p->segs, p->nsegs, sizeof(*p->segs), cmp_seg);
	if (c->nthreads == 0) {
		rc = -EIO;
		snprintf(err, errsize, "'%s' has %s", path,
			 "no thread in it (no NT_PRSTATUS note)");
		goto fail;
	}
	c->vdso = sb_core_auxv(c, AT_SYSINFO_EHDR);
	rc = build_maps(c, p);
	if (rc)
		goto fail;
	if (c->file_size < c->needed_size) {
		char have[32], need[32];

		human_size(c->file_size, have, sizeof(have));
		human_size(c->needed_size, need, sizeof(need));
		c->complete = -EIO;
		snprintf(c->problem, sizeof(c->problem),
			 "%s is truncated (file %s, its segments claim %s): "
			 "memory past the cut is missing (was ulimit -c or "
			 "the disk too small?)",
			 path, have, need);
	}
	*out = c;
	return 0;
fail:
	sb_core_close(c);
	return rc;
}

char *sb_core_file_path(const struct sb_core *core, const char *mapped)
{
	const struct core_priv *p = core->priv;
	char *out;

	if (p->exe_override && core->exe && strcmp(mapped, core->exe) == 0)
		return strdup(p->exe_override);
	if (asprintf(&out, "%s%s", p->sysroot, mapped) < 0)
		return NULL;
	return out;
}

static int backing_fd(struct sb_core *c, const char *mapped)
{
	struct core_priv *p = c->priv;
	char *path;
	int i;

	for (i = 0; i < p->nfds; i++)
		if (strcmp(p->fds[i].path, mapped) == 0)
			return p->fds[i].fd;
	if (p->nfds == MAX_FDS)
		return -1;
	path = sb_core_file_path(c, mapped);
	p->fds[p->nfds].path = strdup(mapped);
	/* A path from the core: only a regular file, opened without
	 * blocking (a FIFO there must not hang us). */
	p->fds[p->nfds].fd = path ? open(path, O_RDONLY | O_CLOEXEC |
						       O_NONBLOCK | O_NOCTTY) :
				    -1;
	if (p->fds[p->nfds].fd >= 0) {
		struct stat st;

		if (fstat(p->fds[p->nfds].fd, &st) || !S_ISREG(st.st_mode)) {
			close(p->fds[p->nfds].fd);
			p->fds[p->nfds].fd = -1;
		}
	}
	free(path);
	if (!p->fds[p->nfds].path) {
		if (p->fds[p->nfds].fd >= 0)
			close(p->fds[p->nfds].fd);
		return -1;
	}
	return p->fds[p->nfds++].fd;
}

static const struct segment *find_seg(const struct core_priv *p, uint64_t a)
{
	size_t lo = 0, hi = p->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct segment *s = &p->segs[mid];

		if (a < s->vaddr)
			hi = mid;
		else if (a - s->vaddr >= s->memsz)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Read from the core, or from the file behind a mapping not dumped. */
static ssize_t core_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct sb_core *c = ctx;
	struct core_priv *p = c->priv;
	size_t done = 0;

	while (done < len) {
		const struct segment *s = find_seg(p, addr + done);
		uint64_t in, n, off;
		ssize_t r;
		int fd = p->fd;

		if (!s)
			break;
		in = addr + done - s->vaddr;
		n = s->memsz - in < len - done ? s->memsz - in : len - done;
		if (in < s->filesz) {
			if (n > s->filesz - in)
				n = s->filesz - in;
			off = s->offset + in;
			if (off >= c->file_size)
				break; /* truncated core */
		} else {
			const struct sb_map *m =
				sb_maps_find(&c->maps, addr + done);

			if (!m || m->path[0] != '/')
				break;
			fd = backing_fd(c, m->path);
			if (fd < 0)
				break;
			off = m->offset + (addr + done - m->start);
		}
		r = pread(fd, (char *)buf + done, (size_t)n, (off_t)off);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	return done ? (ssize_t)done : -EFAULT;
}

struct sb_memsrc sb_core_memsrc(struct sb_core *core)
{
	return (struct sb_memsrc){ .read = core_read,
				   .ctx = core,
				   .immutable = true };
}

int sb_core_mem_build_id(const struct sb_memsrc *mem, uint64_t base, char *buf,
			 size_t size)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned char notes[512];
	int i;

	if (mem->read(mem->ctx, base, &eh, sizeof(eh)) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_phentsize != sizeof(ph) || eh.e_phnum > 64)
		return -ENOENT;
	for (i = 0; i < eh.e_phnum; i++) {
		size_t off = 0, len;

		if (mem->read(mem->ctx,
			      base + eh.e_phoff + (uint64_t)i * sizeof(ph), &ph,
			      sizeof(ph)) != sizeof(ph))
			return -ENOENT;
		if (ph.p_type != PT_NOTE)
			continue;
		len = ph.p_filesz < sizeof(notes) ? ph.p_filesz : sizeof(notes);
		/* Notes sit in the first page, below any load bias. */
		if (mem->read(mem->ctx, base + ph.p_offset, notes, len) !=
		    (ssize_t)len)
			continue;
		while (off + 12 <= len) {
			uint32_t nsz, dsz, type;
			size_t desc;

			memcpy(&nsz, notes + off, 4);
			memcpy(&dsz, notes + off + 4, 4);
			memcpy(&type, notes + off + 8, 4);
			desc = off + 12 + ((nsz + 3u) & ~3u);
			if (nsz > len || dsz > len || desc + dsz > len)
				break;
			if (type == NT_GNU_BUILD_ID && nsz == 4 &&
			    memcmp(notes + off + 12, "GNU", 4) == 0 &&
			    dsz > 0 && 2 * (size_t)dsz + 1 <= size) {
				size_t k;

				for (k = 0; k < dsz; k++)
					snprintf(buf + 2 * k, 3, "%02x",
						 notes[desc + k]);
				return 0;
			}
			off = desc + ((dsz + 3u) & ~3u);
		}
	}
	return -ENOENT;
}

void sb_core_close(struct sb_core *c)
{
	struct core_priv *p;
	int i;

	if (!c)
		return;
	p = c->priv;
	if (p) {
		for (i = 0; i < p->nfds; i++) {
			if (p->fds[i].fd >= 0)
				close(p->fds[i].fd);
			free(p->fds[i].path);
		}
		if (p->elf)
			elf_end(p->elf);
		if (p->fd >= 0)
			close(p->fd);
		free(p->segs);
		free(p->auxv);
		free(p->sysroot);
		free(p->exe_override);
		free(p);
	}
	sb_maps_free(&c->maps);
	free(c->threads);
	free(c->exe);
	free(c);
}
