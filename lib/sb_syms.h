/* sb_syms.h: addresses to function+offset and file:line, cached. */
#ifndef SB_SYMS_H
#define SB_SYMS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sb_maps.h"
#include "sb_stack.h"

/*
 * What is known about one code address.  Strings are owned by the
 * symbolizer and stay valid until sb_syms_free().  Absent facts are NULL
 * (function, file, module, build_id) or 0 (line).
 */
struct sb_symbol_info {
	uint64_t addr;
	/* NULL: no symbol covers the address */
	const char *function;
	/* addr - start of function */
	uint64_t offset;
	/* Where the function starts, as a module address: from the symbol,
	 * or from the unwind table (.eh_frame_hdr) when there is no symbol,
	 * so that unnamed frames of one function still group together;
	 * 0 when unknown. */
	uint64_t function_start;
	/* source file and line from DWARF */
	const char *file;
	int line;
	/* path of the mapped file, or "[vdso]" */
	const char *module;
	/* address in the module's ELF, for addr2line -e module */
	uint64_t module_offset;
	/* hex, of the module */
	const char *build_id;
};

/* A frame as recorded while the thread was stopped, and its names. */
struct sb_sym_frame {
	struct sb_frame raw;
	struct sb_symbol_info sym;
};

struct sb_syms;

/*
 * A symbolizer for one address space.  pid > 0: a live process, whose
 * mapped files are opened through /proc/PID/map_files (the very inode it
 * runs, even when replaced on disk) and whose vDSO is read from its
 * memory.  sysroot (NULL for "/") is prefixed to paths and debug
 * directories.  Never contacts debuginfod.  NULL on out-of-memory.
 */
struct sb_syms *sb_syms_new(pid_t pid, const char *sysroot);

/*
 * Give the symbolizer an in-memory ELF image for a mapping that has no file
 * ("[vdso]" of a core); the buffer is copied.  Returns 0 or -errno.
 */
int sb_syms_add_image(struct sb_syms *s, const char *name, const void *image,
		      size_t size);

/*
 * Describe addr.  exact is true for an address that is itself the
 * instruction (frame 0, or the frame a signal interrupted); false for a
 * return address, which is looked up one byte earlier so that a call at
 * the very end of a function is not blamed on the next one.  Results are
 * cached per address.  Returns 0; -ENOENT when no mapping holds addr
 * (out->module is then NULL); out is always filled.
 */
int sb_syms_lookup(struct sb_syms *s, const struct sb_maps *maps, uint64_t addr,
		   bool exact, struct sb_symbol_info *out);

/*
 * Which frames get file:line.  Reading a module's line tables costs the
 * first time: glibc's debug file is 10 MB of compressed DWARF, half of a
 * hotthread run's CPU, for the lines of start_thread and clone3.
 */
enum sb_syms_lines {
	SB_SYMS_LINES_NONE,
	SB_SYMS_LINES_PROGRAM, /* all but system libraries and the vDSO */
	SB_SYMS_LINES_ALL, /* the default */
};

void sb_syms_set_lines(struct sb_syms *s, enum sb_syms_lines which);

/* Whether a module path is a system library (/lib, /usr/lib) or [vdso]. */
bool sb_syms_system_module(const char *path);

/*
 * Read mapped (a path as the process mapped it) from real instead: an
 * executable that has moved (corepeek -e).  Returns 0 or -ENOMEM.
 */
int sb_syms_set_file(struct sb_syms *s, const char *mapped, const char *real);

/*
 * Load the module behind map and give its build-id (NULL if it has none;
 * owned by the symbolizer).  0, or -ENOENT when the file cannot be read.
 */
int sb_syms_module(struct sb_syms *s, const struct sb_map *map,
		   const char **build_id);

/*
 * Load the module behind map now, with its line table when lines are
 * wanted for it, so that later lookups find them ready: for a tool with
 * time to spare before its lookups count (lockgraph's pause between its
 * two looks).  0, -ENOENT when the file cannot be read, or -ENOMEM.
 */
int sb_syms_warm(struct sb_syms *s, const struct sb_map *map);

/*
 * The global variable holding addr ("accounts_lock", +offset inside it),
 * from the symbol tables of the module mapped there.  *name is owned by
 * the symbolizer.  0 or -ENOENT.
 */
int sb_syms_data(struct sb_syms *s, const struct sb_maps *maps, uint64_t addr,
		 const char **name, uint64_t *offset);

/* Forget cached lookups: the maps changed (dlopen, dlclose). */
void sb_syms_flush(struct sb_syms *s);

/* The ELF section (".rodata") holding addr, into buf; 0 or -ENOENT. */
int sb_syms_section(struct sb_syms *s, const struct sb_maps *maps,
		    uint64_t addr, char *buf, size_t size);

/*
 * Never name frames of this module: its file is not the one that ran
 * (build-id mismatch).  Lookups then give module+offset only.
 */
void sb_syms_withhold(struct sb_syms *s, const struct sb_map *map);

/*
 * The address in the process of a symbol (function or data) of the module
 * whose file name starts with module_base ("libc.so"), e.g. __abort_msg.
 * 0 or -ENOENT.
 */
int sb_syms_find(struct sb_syms *s, const struct sb_maps *maps,
		 const char *module_base, const char *name, uint64_t *addr);

/* Name n raw frames into out[0..n). */
void sb_syms_frames(struct sb_syms *s, const struct sb_maps *maps,
		    const struct sb_frame *raw, int n,
		    struct sb_sym_frame *out);

/*
 * Whether two named frames are the same place for grouping stacks: the
 * same function of the same module (offsets may differ), or, unnamed, the
 * same function start or address.
 */
bool sb_sym_frame_same(const struct sb_sym_frame *a,
		       const struct sb_sym_frame *b);

void sb_syms_free(struct sb_syms *s);

/*
 * Read the GNU build-id note of an ELF image in memory, as hex into buf
 * (at least 2 * 64 + 1 bytes).  Returns 0 or -ENOENT.
 */
int sb_syms_image_build_id(const void *image, size_t size, char *buf,
			   size_t bufsize);

#endif
