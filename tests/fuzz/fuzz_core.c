/*
 * fuzz_core.c: a libFuzzer target for the core reader (lib/sb_core.c).
 *
 * Each input is a whole core file.  It is written to a memfd, opened with
 * sb_core_open() through /proc/self/fd/N, and when it opens, walked the way
 * corepeek walks a core: every thread's registers, memory reads through
 * sb_core_memsrc() at the registers, the mappings' edges, the auxv's
 * addresses and the fault address, the vDSO image, the build-id of every
 * offset-0 file mapping, then sb_core_close().  Besides what ASan, UBSan
 * and LeakSanitizer catch, it traps on a file descriptor left open after
 * sb_core_close(), on a read that claims more bytes than asked, and on more
 * threads than the file has room for NT_PRSTATUS notes (notes read twice:
 * the cause of unbounded memory from a small file).
 *
 * Built and run by `make fuzz` (not part of `make check`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *       tests/fuzz/fuzz_core.c lib/sb_core.c lib/sb_maps.c lib/sb_util.c \
 *       -lelf
 * Mapped files named in a fuzzed NT_FILE are opened read-only, as corepeek
 * would open them; FUZZ_CORE_SYSROOT (environment) puts a prefix before
 * those paths (e.g. an empty directory, to open none).  Inputs of odd size
 * also give sb_core_opts.exe (as corepeek -e does), /proc/self/exe.
 */
#include "sb_core.h"
#include "sb_maps.h"
#include "sb_stack.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/procfs.h>
#include <unistd.h>

/* Bounds on the walk, so that one input stays fast. */
#define MAX_WALK_THREADS 64
#define MAX_WALK_MAPS 256
#define MAX_VDSO (1u << 20) /* as corepeek */
/* An NT_PRSTATUS's descriptor: the smallest one sb_core takes. */
#define PRSTATUS_SIZE sizeof(struct elf_prstatus)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char buf[8192];
static volatile uint64_t sink; /* keeps the reads from being dropped */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void touch(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s = s * 31 + c[i];
	sink += s;
}

static void rd(const struct sb_memsrc *mem, uint64_t addr, size_t len)
{
	ssize_t r;

	if (len > sizeof(buf))
		len = sizeof(buf);
	r = mem->read(mem->ctx, addr, buf, len);
	if (r > (ssize_t)len) {
		fprintf(stderr,
			"fuzz_core: read of %zu bytes at %#llx "
			"returned %zd\n",
			len, (unsigned long long)addr, r);
		__builtin_trap();
	}
	if (r > 0)
		touch(buf, (size_t)r);
}

static void walk(struct sb_core *c)
{
	struct sb_memsrc mem = sb_core_memsrc(c);
	static const uint64_t auxv_types[] = {
		AT_ENTRY,  AT_PHDR,	AT_BASE, AT_SYSINFO_EHDR, AT_RANDOM,
		AT_EXECFN, AT_PLATFORM, AT_NULL, 0xdeadbeef
	};
	size_t i;
	int t;

	touch(c->fname, strlen(c->fname));
	touch(c->psargs, strlen(c->psargs));
	touch(c->problem, strlen(c->problem));
	if (c->exe) {
		char *p = sb_core_file_path(c, c->exe);

		touch(c->exe, strlen(c->exe));
		free(p);
	}

	/* Each thread's registers, and memory where they point. */
	for (t = 0; t < c->nthreads && t < MAX_WALK_THREADS; t++) {
		struct user_regs_struct regs = c->threads[t].regs;

		sink += (uint64_t)c->threads[t].tid;
		touch(&regs, sizeof(regs));
		rd(&mem, regs.rip, 16);
		rd(&mem, regs.rsp, 64);
		rd(&mem, regs.rsp - 8, 16);
		rd(&mem, regs.rbp, 16);
		rd(&mem, regs.rsp & ~4095ull, 4096);
	}
	if (c->sig.present)
		rd(&mem, c->sig.addr, 8);

	/* The auxv, and what its addresses point to. */
	for (i = 0; i < sizeof(auxv_types) / sizeof(auxv_types[0]); i++) {
		uint64_t v = sb_core_auxv(c, auxv_types[i]);

		if (v)
			rd(&mem, v, 64);
	}

	/* The mappings (one per PT_LOAD): start, middle, end, across the end. */
	for (i = 0; i < c->maps.n && i < MAX_WALK_MAPS; i++) {
		const struct sb_map *m = &c->maps.v[i];
		const struct sb_map *f = sb_maps_find(&c->maps, m->start);
		uint64_t len = m->end - m->start;

		touch(m->path, strlen(m->path));
		sink += f ? f->start : 0;
		rd(&mem, m->start, 64);
		rd(&mem, m->start + len / 2, 32);
		rd(&mem, m->end - 8, 8);
		rd(&mem, m->end - 16, 64); /* crosses into what follows */
		if (m->start >= 16)
			rd(&mem, m->start - 16, 32); /* crosses in from below */
	}

	/* The vDSO image, as corepeek reads it. */
	if (c->vdso) {
		const struct sb_map *m = sb_maps_find(&c->maps, c->vdso);

		if (m && m->end - m->start <= MAX_VDSO) {
			size_t n = (size_t)(m->end - m->start);
			void *img = malloc(n);

			if (img && mem.read(mem.ctx, m->start, img, n) > 0)
				touch(img, n < 4096 ? n : 4096);
			free(img);
		}
	}

	/* Build-ids of the files mapped from offset 0, as corepeek checks. */
	for (i = 0; i < c->maps.n && i < MAX_WALK_MAPS; i++) {
		const struct sb_map *m = &c->maps.v[i];
		char id[130] = "";
		char *path;

		if (m->offset != 0 || m->path[0] != '/')
			continue;
		path = sb_core_file_path(c, m->path);
		free(path);
		if (sb_core_mem_build_id(&mem, m->start, id, sizeof(id)) == 0) {
			if (memchr(id, '\0', sizeof(id)) == NULL)
				__builtin_trap();
			touch(id, strlen(id));
		}
		/* A buffer too small for any id must be refused, not overrun. */
		{
			char small[3];

			if (sb_core_mem_build_id(&mem, m->start, small,
						 sizeof(small)) == 0 &&
			    memchr(small, '\0', sizeof(small)) == NULL)
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_core_opts opts = { 0 };
	struct sb_core *core = NULL;
	char path[64], err[256];
	int fd, fds_before, fds_after, rc;
	size_t off = 0;

	opts.sysroot = getenv("FUZZ_CORE_SYSROOT");
	/* Half the inputs also say the executable moved (corepeek -e). */
	if (size & 1)
		opts.exe = "/proc/self/exe";
	fd = memfd_create("fuzz-core", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	fds_before = count_fds();
	rc = sb_core_open(path, &opts, &core, err, sizeof(err));
	if (rc == 0) {
		if (!core || core->nthreads <= 0 || !core->threads)
			__builtin_trap(); /* opened, but says nothing */
		/*
		 * Every thread comes from an NT_PRSTATUS of its own in the
		 * file: more threads than fit means notes were read twice
		 * (PT_NOTE headers sharing bytes), which scales to any
		 * number of threads and mappings from a small file.
		 */
		if ((uint64_t)core->nthreads * PRSTATUS_SIZE > size) {
			fprintf(stderr,
				"fuzz_core: %d threads from a %zu-byte file: "
				"notes counted more than once\n",
				core->nthreads, size);
			__builtin_trap();
		}
		walk(core);
		sb_core_close(core);
	} else {
		if (core)
			__builtin_trap(); /* failed, yet handed a core out */
		if (memchr(err, '\0', sizeof(err)) == NULL)
			__builtin_trap();
		touch(err, strlen(err));
	}
	fds_after = count_fds();
	if (fds_before >= 0 && fds_after != fds_before) {
		fprintf(stderr,
			"fuzz_core: %d file descriptor(s) left open by "
			"sb_core_open/sb_core_close (rc %d)\n",
			fds_after - fds_before, rc);
		__builtin_trap();
	}
	close(fd);
	return 0;
}
