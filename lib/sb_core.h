/* sb_core.h: an ELF core file: threads, registers, signal, mappings, memory. */
#ifndef SB_CORE_H
#define SB_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "sb_maps.h"
#include "sb_stack.h"

struct sb_core_thread {
	pid_t tid;
	struct user_regs_struct regs;
};

/* NT_SIGINFO: why the process died.  Absent in very old cores. */
struct sb_core_signal {
	bool present;
	int signo, code, err;
	uint64_t addr; /* fault address (SIGSEGV, SIGBUS, SIGFPE...) */
	pid_t sender_pid; /* for signals sent by a process */
	uid_t sender_uid;
};

struct sb_core {
	const char *path;
	uint64_t file_size;
	uint64_t needed_size; /* the end of the last segment or note */
	pid_t pid;
	uid_t uid;
	char fname[17]; /* NT_PRPSINFO: comm of the process */
	char psargs[81]; /* NT_PRPSINFO: start of the command line */
	struct sb_core_thread
		*threads; /* [0] is the one that took the signal */
	int nthreads;
	struct sb_core_signal sig;
	struct sb_maps maps; /* from PT_LOAD and NT_FILE */
	char *exe; /* the executable's path, from NT_FILE */
	uint64_t vdso; /* AT_SYSINFO_EHDR, 0 if none */
	int complete; /* 0, or -errno of what could not be read */
	char problem[256]; /* what was wrong, for people */
	void *priv;
};

struct sb_core_opts {
	const char *sysroot; /* prefix for mapped files' paths */
	const char *exe; /* the executable, when it moved (-e) */
};

/*
 * Open and read a core file.  Returns 0 and *out, or -errno with a
 * sentence in err: -ENOEXEC "not an ELF file", -EINVAL "an ELF file but
 * not a core", -EIO for notes that cannot be read.  A truncated core still
 * opens (the rest is read where it exists) with out->complete = -EIO and
 * out->problem saying how much is missing.
 */
int sb_core_open(const char *path, const struct sb_core_opts *opts,
		 struct sb_core **out, char *err, size_t errsize);

/* Memory of the dead process: the core's segments, then mapped files. */
struct sb_memsrc sb_core_memsrc(struct sb_core *core);

/* Value of an auxv entry, or 0. */
uint64_t sb_core_auxv(const struct sb_core *core, uint64_t type);

/* The file to read for a mapped path (sysroot, -e), malloc'ed. */
char *sb_core_file_path(const struct sb_core *core, const char *mapped);

void sb_core_close(struct sb_core *core);

/*
 * Read the GNU build-id of the ELF image whose header is at base in the
 * given memory (a core's first page of each mapped file).  Hex into buf;
 * 0 or -ENOENT.
 */
int sb_core_mem_build_id(const struct sb_memsrc *mem, uint64_t base, char *buf,
			 size_t size);

#endif
