/* sb_syms.c: a symbolizer over libelf symbol tables and libdw line tables. */
#include "sb_syms.h"
#include "sb_util.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The vDSO is two pages; anything much larger is not one. */
#define MAX_IMAGE_SIZE (1u << 20)
#define MAX_LOADS 32
#define MAX_BUILD_ID 64

struct symbol {
	uint64_t addr, size;
	const char *name;
	int rank; /* higher wins when two names share an address */
};

struct load {
	uint64_t vaddr, offset, filesz;
};

/* One symbol table section the module's names come from. */
struct symsrc {
	Elf *elf;
	Elf_Data *data;
	size_t n; /* entries */
	const Elf64_Sym *raw; /* the table itself when it is ELF64 */
	const char *strs; /* its string table, when it is one */
	size_t strsize;
};

/*
 * A module's first lookups scan its symbol tables instead of sorting them:
 * sorting glibc's 13 000 symbols (libc6-dbg's .symtab and .dynsym) costs
 * about 4 ms, a scan some 40 us, and a tool like lockgraph names a dozen
 * addresses in libc.  After this many scans the sorted tables are built.
 */
#define LAZY_SCANS 32
#define MAX_SRCS 8
#define LOOK_BACK 16 /* symbols find_in() looks back over */

struct module {
	char *path; /* as mapped */
	uint64_t dev, inode; /* identity, 0 when unknown */
	bool loaded, failed;
	int fd, dbg_fd;
	Elf *elf, *dbg_elf;
	void *image; /* owned copy for in-memory images */
	char *line_path; /* the file that has .debug_info, if any */
	char build_id[2 * MAX_BUILD_ID + 1];
	struct load loads[MAX_LOADS];
	int nloads;
	struct symsrc srcs[MAX_SRCS]; /* in the order the tables take them */
	int nsrcs;
	int scans; /* lookups answered by a scan so far */
	bool tabled; /* syms and dsyms built and sorted */
	struct symbol *syms;
	size_t nsyms, symcap;
	struct symbol *dsyms; /* data objects: globals, for naming locks */
	size_t ndsyms, dsymcap;
	Dwfl *dwfl;
	Dwfl_Module *dwmod;
	bool dw_tried;
	struct module *next;
};

struct cache_entry {
	uint64_t key; /* addr << 1 | exact; 0 = empty */
	struct sb_symbol_info info;
};

struct path_override {
	char *mapped, *real;
};

struct sb_syms {
	pid_t pid;
	struct path_override *overrides;
	size_t noverrides;
	char *sysroot; /* "" for "/" */
	enum sb_syms_lines lines;
	struct module *modules;
	struct cache_entry *cache;
	size_t cache_cap, cache_used;
	char **strings; /* names we formatted and own */
	size_t nstrings, strcap;
};

struct sb_syms *sb_syms_new(pid_t pid, const char *sysroot)
{
	struct sb_syms *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	elf_version(EV_CURRENT);
	/* A diagnosis must never hang on a network download. */
	unsetenv("DEBUGINFOD_URLS");
	s->pid = pid;
	s->lines = SB_SYMS_LINES_ALL;
	s->sysroot = strdup(sysroot && strcmp(sysroot, "/") ? sysroot : "");
	if (!s->sysroot) {
		free(s);
		return NULL;
	}
	return s;
}

void sb_syms_set_lines(struct sb_syms *s, enum sb_syms_lines which)
{
	s->lines = which;
}

bool sb_syms_system_module(const char *path)
{
	return !path || path[0] == '[' || strncmp(path, "/lib/", 5) == 0 ||
	       strncmp(path, "/lib64/", 7) == 0 ||
	       strncmp(path, "/usr/lib/", 9) == 0 ||
	       strncmp(path, "/usr/lib64/", 11) == 0;
}

static const char *own_string(struct sb_syms *s, const char *str)
{
	char *copy;

	if (sb_vec_reserve((void **)&s->strings, &s->strcap, s->nstrings + 1,
			   sizeof(*s->strings)))
		return NULL;
	copy = strdup(str);
	if (copy)
		s->strings[s->nstrings++] = copy;
	return copy;
}

static void hex_build_id(const unsigned char *id, size_t len, char *buf,
			 size_t size)
{
	size_t i;

	buf[0] = '\0';
	if (len > MAX_BUILD_ID || size < 2 * len + 1)
		return;
	for (i = 0; i < len; i++)
		snprintf(buf + 2 * i, 3, "%02x", id[i]);
}

/* The GNU build-id note in a block of notes, as hex; 0 or -ENOENT. */
static int notes_build_id(Elf_Data *d, char *buf, size_t size)
{
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff))) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)d->d_buf + noff, "GNU", 4) == 0) {
			hex_build_id((unsigned char *)d->d_buf + doff,
				     nh.n_descsz, buf, size);
			return buf[0] ? 0 : -ENOENT;
		}
	}
	return -ENOENT;
}

/* The build-id from the note sections (or, in images, note segments). */
static int elf_build_id(Elf *elf, char *buf, size_t size)
{
	size_t nphdr, i;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_NOTE &&
		    notes_build_id(elf_getdata(scn, NULL), buf, size) == 0)
			return 0;
	}
	if (elf_getphdrnum(elf, &nphdr))
		return -ENOENT;
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_NOTE &&
		    notes_build_id(
			    elf_getdata_rawchunk(elf, (int64_t)ph.p_offset,
						 ph.p_filesz, ELF_T_NHDR),
			    buf, size) == 0)
			return 0;
	}
	return -ENOENT;
}

int sb_syms_image_build_id(const void *image, size_t size, char *buf,
			   size_t bufsize)
{
	Elf *elf;
	int r;

	elf_version(EV_CURRENT);
	elf = elf_memory((char *)(uintptr_t)image, size);
	if (!elf)
		return -ENOENT;
	r = elf_build_id(elf, buf, bufsize);
	elf_end(elf);
	return r;
}

static Elf_Scn *find_section(Elf *elf, const char *name, Elf64_Word type)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (type && sh.sh_type != type)
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && strcmp(n, name) == 0)
			return scn;
	}
	return NULL;
}

static bool has_debug_info(Elf *elf)
{
	Elf_Scn *scn = find_section(elf, ".debug_info", 0);
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
	       sh.sh_size > 0;
}

static int symbol_rank(unsigned char bind, const char *name)
{
	int rank = bind == STB_GLOBAL ? 30 : bind == STB_WEAK ? 20 : 10;

	/* glibc's internal aliases: prefer the name people call. */
	if (strncmp(name, "__GI_", 5) == 0 || strncmp(name, "__libc_", 7) == 0)
		rank -= 5;
	return rank;
}

/* Whether a symbol goes into the tables: data (objects) or code. */
static bool symbol_kind(const GElf_Sym *sym, bool *data)
{
	int t = GELF_ST_TYPE(sym->st_info);

	*data = t == STT_OBJECT;
	return (t == STT_FUNC || t == STT_GNU_IFUNC || t == STT_OBJECT) &&
	       sym->st_shndx != SHN_UNDEF && sym->st_size != 0;
}

/* A symbol's name, NULL when it has none (or a bad one), as elf_strptr. */
static const char *symbol_name(const struct symsrc *src, const GElf_Sym *sym)
{
	const char *name;

	if (!src->strs)
		return NULL;
	if (sym->st_name >= src->strsize)
		return NULL;
	name = src->strs + sym->st_name;
	if (!memchr(name, '\0', src->strsize - sym->st_name))
		return NULL;
	return *name ? name : NULL;
}

/* Symbol i of a source: straight from the table when it is ELF64. */
static inline bool get_sym(const struct symsrc *src, size_t i, GElf_Sym *sym)
{
	if (src->raw) {
		*sym = src->raw[i];
		return true;
	}
	return gelf_getsym(src->data, (int)i, sym) != NULL;
}

/* The symbol table sections of one type of one ELF, as sources. */
static void add_sources(struct module *m, Elf *elf, Elf64_Word type)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)) && m->nsrcs < MAX_SRCS) {
		struct symsrc *src = &m->srcs[m->nsrcs];
		Elf_Scn *strscn;
		Elf_Data *strdata;
		GElf_Shdr sh, strsh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type ||
		    !sh.sh_entsize)
			continue;
		src->data = elf_getdata(scn, NULL);
		if (!src->data)
			continue;
		src->elf = elf;
		src->strs = NULL;
		src->strsize = 0;
		/* Names straight from the string table: elf_strptr's checks
		 * for each of glibc's 13 000 symbols cost more than the rest
		 * of a scan. */
		strscn = elf_getscn(elf, sh.sh_link);
		if (strscn && gelf_getshdr(strscn, &strsh) &&
		    strsh.sh_type == SHT_STRTAB &&
		    !(strsh.sh_flags & SHF_COMPRESSED) &&
		    (strdata = elf_getdata(strscn, NULL)) && strdata->d_buf) {
			src->strs = strdata->d_buf;
			src->strsize = strdata->d_size < strsh.sh_size ?
					       strdata->d_size :
					       strsh.sh_size;
		}
		src->n = sh.sh_size / sh.sh_entsize;
		/* libelf gives ELF64 tables in memory form: read them
		 * directly, never past their data. */
		src->raw = NULL;
		if (src->data->d_type == ELF_T_SYM &&
		    gelf_getclass(elf) == ELFCLASS64) {
			src->raw = src->data->d_buf;
			if (src->n > src->data->d_size / sizeof(Elf64_Sym))
				src->n = src->data->d_size / sizeof(Elf64_Sym);
		}
		m->nsrcs++;
	}
}

/* Whether sources [from, nsrcs) name any function. */
static bool sources_have_code(const struct module *m, int from)
{
	int k;

	for (k = from; k < m->nsrcs; k++) {
		const struct symsrc *src = &m->srcs[k];
		size_t i;

		for (i = 0; i < src->n; i++) {
			GElf_Sym sym;
			bool data;

			if (!get_sym(src, i, &sym))
				break;
			if (symbol_kind(&sym, &data) && !data &&
			    symbol_name(src, &sym))
				return true;
		}
	}
	return false;
}

static void add_symtab(struct module *m, const struct symsrc *src)
{
	size_t i;

	for (i = 0; i < src->n; i++) {
		GElf_Sym sym;
		const char *name;
		bool data;

		if (!get_sym(src, i, &sym))
			break;
		if (!symbol_kind(&sym, &data))
			continue;
		name = symbol_name(src, &sym);
		if (!name)
			continue;
		if (data) {
			if (sb_vec_reserve((void **)&m->dsyms, &m->dsymcap,
					   m->ndsyms + 1, sizeof(*m->dsyms)))
				return;
			m->dsyms[m->ndsyms++] = (struct symbol){
				.addr = sym.st_value,
				.size = sym.st_size,
				.name = name,
				.rank = symbol_rank(GELF_ST_BIND(sym.st_info),
						    name),
			};
			continue;
		}
		if (sb_vec_reserve((void **)&m->syms, &m->symcap, m->nsyms + 1,
				   sizeof(*m->syms)))
			return;
		m->syms[m->nsyms++] = (struct symbol){
			.addr = sym.st_value,
			.size = sym.st_size,
			.name = name,
			.rank = symbol_rank(GELF_ST_BIND(sym.st_info), name),
		};
	}
}

static int cmp_symbol(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return (x->addr > y->addr) - (x->addr < y->addr);
	if (x->rank != y->rank)
		return y->rank - x->rank; /* best first */
	return (strlen(x->name) > strlen(y->name)) -
	       (strlen(x->name) < strlen(y->name));
}

static void sort_table(struct symbol *v, size_t *n)
{
	size_t i, kept = 0;

	if (!*n)
		return;
	qsort(v, *n, sizeof(*v), cmp_symbol);
	for (i = 0; i < *n; i++) {
		if (kept && v[kept - 1].addr == v[i].addr) {
			/* Keep the best name but the largest extent. */
			if (v[i].size > v[kept - 1].size)
				v[kept - 1].size = v[i].size;
			continue;
		}
		v[kept++] = v[i];
	}
	*n = kept;
}

/* The sorted tables, built once a module has had LAZY_SCANS lookups. */
static void build_tables(struct module *m)
{
	int k;

	m->tabled = true;
	for (k = 0; k < m->nsrcs; k++)
		add_symtab(m, &m->srcs[k]);
	sort_table(m->syms, &m->nsyms);
	sort_table(m->dsyms, &m->ndsyms);
}

static int open_elf(const char *path, int *fd, Elf **elf)
{
	struct stat st;

	/* Paths come from the target (maps, a core's notes): a FIFO would
	 * block us, a device node would be opened with its side effects.
	 * Only regular files, opened without blocking. */
	*elf = NULL;
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st) || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return -EINVAL;
	}
	*elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		if (*elf)
			elf_end(*elf);
		*elf = NULL;
		close(*fd);
		*fd = -1;
		return -ENOEXEC;
	}
	return 0;
}

/* A debug file is only used when its build-id matches the module's. */
static bool try_debug_file(struct module *m, const char *path)
{
	char id[2 * MAX_BUILD_ID + 1];
	int fd;
	Elf *elf;

	if (open_elf(path, &fd, &elf))
		return false;
	if (m->build_id[0] &&
	    (elf_build_id(elf, id, sizeof(id)) || strcmp(id, m->build_id))) {
		elf_end(elf);
		close(fd);
		return false;
	}
	m->dbg_fd = fd;
	m->dbg_elf = elf;
	if (has_debug_info(elf)) {
		char *lp = strdup(path);

		if (lp) {
			free(m->line_path);
			m->line_path = lp;
		}
	}
	return true;
}

/* Whether snprintf's result fit: a cut path must not be opened. */
static bool fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size;
}

static void find_debug_file(struct sb_syms *s, struct module *m)
{
	char path[4096];
	Elf_Scn *scn;

	if (m->build_id[0] && strlen(m->build_id) > 2 &&
	    fits(snprintf(path, sizeof(path),
			  "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
			  s->sysroot, m->build_id, m->build_id + 2),
		 sizeof(path)) &&
	    try_debug_file(m, path))
		return;
	scn = find_section(m->elf, ".gnu_debuglink", SHT_PROGBITS);
	/* Without a build-id nothing proves a debuglink file is the one
	 * built with this binary: a stale one would give wrong names. */
	if (scn && m->path[0] == '/' && m->build_id[0]) {
		Elf_Data *d = elf_getdata(scn, NULL);
		char dir[4096], link[256];
		const char *slash = strrchr(m->path, '/');
		size_t dlen = (size_t)(slash - m->path);

		if (!d || !d->d_size || d->d_size > sizeof(link) - 1 ||
		    dlen >= sizeof(dir))
			return;
		memcpy(link, d->d_buf, d->d_size);
		link[d->d_size] = '\0';
		if (strchr(link, '/'))
			return;
		memcpy(dir, m->path, dlen);
		dir[dlen] = '\0';
		if (fits(snprintf(path, sizeof(path), "%s/usr/lib/debug%s/%s",
				  s->sysroot, dir, link),
			 sizeof(path)) &&
		    try_debug_file(m, path))
			return;
		if (fits(snprintf(path, sizeof(path), "%s%s/.debug/%s",
				  s->sysroot, dir, link),
			 sizeof(path)) &&
		    try_debug_file(m, path))
			return;
		if (fits(snprintf(path, sizeof(path), "%s%s/%s", s->sysroot,
				  dir, link),
			 sizeof(path)) &&
		    strcmp(path + strlen(s->sysroot), m->path))
			try_debug_file(m, path);
	}
}

static void read_loads(struct module *m)
{
	size_t nphdr, i;

	if (elf_getphdrnum(m->elf, &nphdr))
		return;
	for (i = 0; i < nphdr && m->nloads < MAX_LOADS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(m->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		m->loads[m->nloads++] = (struct load){
			.vaddr = ph.p_vaddr,
			.offset = ph.p_offset,
			.filesz = ph.p_filesz,
		};
	}
}

/* Read a file-less mapping (the vDSO) from the live process's memory. */
static int read_image_live(struct sb_syms *s, const struct sb_map *map,
			   struct module *m)
{
	size_t size = (size_t)(map->end - map->start);
	struct iovec local, remote;
	ssize_t r;

	if (s->pid <= 0 || size > MAX_IMAGE_SIZE)
		return -ENOENT;
	m->image = malloc(size);
	if (!m->image)
		return -ENOMEM;
	local.iov_base = m->image;
	local.iov_len = size;
	remote.iov_base = (void *)(uintptr_t)map->start;
	remote.iov_len = size;
	r = process_vm_readv(s->pid, &local, 1, &remote, 1, 0);
	if (r != (ssize_t)size) {
		free(m->image);
		m->image = NULL;
		return -EFAULT;
	}
	m->elf = elf_memory(m->image, size);
	return m->elf && elf_kind(m->elf) == ELF_K_ELF ? 0 : -ENOEXEC;
}

static const char *override_for(const struct sb_syms *s, const char *mapped)
{
	size_t i;

	for (i = 0; i < s->noverrides; i++)
		if (strcmp(s->overrides[i].mapped, mapped) == 0)
			return s->overrides[i].real;
	return NULL;
}

int sb_syms_set_file(struct sb_syms *s, const char *mapped, const char *real)
{
	struct path_override *o = realloc(
		s->overrides, (s->noverrides + 1) * sizeof(*s->overrides));

	if (!o)
		return -ENOMEM;
	s->overrides = o;
	o[s->noverrides].mapped = strdup(mapped);
	o[s->noverrides].real = strdup(real);
	if (!o[s->noverrides].mapped || !o[s->noverrides].real) {
		free(o[s->noverrides].mapped);
		free(o[s->noverrides].real);
		return -ENOMEM;
	}
	s->noverrides++;
	return 0;
}

static void load_module(struct sb_syms *s, const struct sb_map *map,
			struct module *m)
{
	char path[4096];
	int err = -ENOENT;

	m->loaded = true;
	m->fd = m->dbg_fd = -1;
	if (m->elf) {
		err = 0; /* an image given with sb_syms_add_image */
	} else if (map->path[0] == '[') {
		err = read_image_live(s, map, m);
	} else if (map->path[0] == '/') {
		/* map_files is the inode the process runs, even if the file
		 * on disk has been replaced since. */
		if (s->pid > 0 && !s->sysroot[0]) {
			snprintf(path, sizeof(path),
				 "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
				 (int)s->pid, map->start, map->end);
			err = open_elf(path, &m->fd, &m->elf);
		}
		if (err && !map->deleted) {
			const char *real = override_for(s, map->path);

			if (real)
				snprintf(path, sizeof(path), "%s", real);
			else
				snprintf(path, sizeof(path), "%s%s", s->sysroot,
					 map->path);
			err = open_elf(path, &m->fd, &m->elf);
		}
		if (!err && has_debug_info(m->elf))
			m->line_path = strdup(path);
	}
	if (err) {
		m->failed = true;
		return;
	}
	elf_build_id(m->elf, m->build_id, sizeof(m->build_id));
	read_loads(m);
	if (!m->image)
		find_debug_file(s, m);
	/* The debug file's symbols; the file's own .symtab when those name
	 * no function; always .dynsym. */
	if (m->dbg_elf)
		add_sources(m, m->dbg_elf, SHT_SYMTAB);
	if (!sources_have_code(m, 0))
		add_sources(m, m->elf, SHT_SYMTAB);
	add_sources(m, m->elf, SHT_DYNSYM);
}

static struct module *get_module(struct sb_syms *s, const struct sb_map *map)
{
	uint64_t dev = ((uint64_t)map->dev_major << 32) | map->dev_minor;
	struct module *m;

	for (m = s->modules; m; m = m->next)
		if (strcmp(m->path, map->path) == 0 &&
		    (!m->inode || !map->inode ||
		     (m->inode == map->inode && m->dev == dev)))
			break;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return NULL;
		m->path = strdup(map->path);
		if (!m->path) {
			free(m);
			return NULL;
		}
		m->dev = dev;
		m->inode = map->inode;
		m->next = s->modules;
		s->modules = m;
	}
	if (!m->loaded)
		load_module(s, map, m);
	return m;
}

int sb_syms_module(struct sb_syms *s, const struct sb_map *map,
		   const char **build_id)
{
	struct module *m = get_module(s, map);

	*build_id = NULL;
	if (!m)
		return -ENOMEM;
	if (m->failed)
		return -ENOENT;
	*build_id = m->build_id[0] ? m->build_id : NULL;
	return 0;
}

static void open_lines(struct module *m);
static bool lines_wanted(const struct sb_syms *s, const struct module *m);

int sb_syms_warm(struct sb_syms *s, const struct sb_map *map)
{
	struct module *m = get_module(s, map);

	if (!m)
		return -ENOMEM;
	if (m->failed)
		return -ENOENT;
	if (lines_wanted(s, m))
		open_lines(m);
	if (m->dwmod) {
		Dwarf_Addr bias;

		dwfl_module_getdwarf(m->dwmod, &bias);
	}
	return 0;
}

static bool to_vaddr(const struct module *m, const struct sb_map *map,
		     uint64_t addr, uint64_t *vaddr);

static bool find_symbol(struct module *m, bool data, uint64_t a,
			struct symbol *out);

int sb_syms_data(struct sb_syms *s, const struct sb_maps *maps, uint64_t addr,
		 const char **name, uint64_t *offset)
{
	const struct sb_map *map = sb_maps_find(maps, addr), *base;
	struct symbol sym;
	struct module *m;
	uint64_t vaddr;

	*name = NULL;
	/* .bss past the file's last page is an anonymous mapping right
	 * after the file's own: it belongs to that module. */
	if (map && !map->path[0] && map > maps->v && map[-1].path[0] == '/' &&
	    map[-1].end == map->start)
		map--;
	if (!map || !map->path[0])
		return -ENOENT;
	base = sb_maps_module_base(maps, map);
	m = base ? get_module(s, base) : NULL;
	if (!m || m->failed || !m->nloads)
		return -ENOENT;
	/* Through the load bias, not a segment's file size: .bss has none. */
	vaddr = addr - (base->start - (m->loads[0].vaddr & ~0xfffull));
	if (!find_symbol(m, true, vaddr, &sym))
		return -ENOENT;
	*name = sym.name;
	*offset = vaddr - sym.addr;
	return 0;
}

void sb_syms_flush(struct sb_syms *s)
{
	if (s->cache)
		memset(s->cache, 0, s->cache_cap * sizeof(*s->cache));
	s->cache_used = 0;
}

int sb_syms_section(struct sb_syms *s, const struct sb_maps *maps,
		    uint64_t addr, char *buf, size_t size)
{
	const struct sb_map *map = sb_maps_find(maps, addr);
	struct module *m = map && map->path[0] ? get_module(s, map) : NULL;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	uint64_t vaddr;

	buf[0] = '\0';
	if (!m || m->failed || !to_vaddr(m, map, addr, &vaddr) ||
	    elf_getshdrstrndx(m->elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(m->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    vaddr < sh.sh_addr || vaddr - sh.sh_addr >= sh.sh_size)
			continue;
		name = elf_strptr(m->elf, shstrndx, sh.sh_name);
		if (name)
			snprintf(buf, size, "%s", name);
		return name ? 0 : -ENOENT;
	}
	return -ENOENT;
}

void sb_syms_withhold(struct sb_syms *s, const struct sb_map *map)
{
	struct module *m = get_module(s, map);

	if (m)
		m->failed = true;
}

/* Search one symbol table for a name, any type but sections and files. */
static bool symtab_find(Elf *elf, Elf64_Word type, const char *name,
			uint64_t *value)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		n = d ? sh.sh_size / sh.sh_entsize : 0;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *sn;

			if (!gelf_getsym(d, (int)i, &sym))
				break;
			if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
				continue;
			sn = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (sn && strncmp(sn, name, strlen(name)) == 0 &&
			    (sn[strlen(name)] == '\0' ||
			     sn[strlen(name)] == '@')) {
				*value = sym.st_value;
				return true;
			}
		}
	}
	return false;
}

int sb_syms_find(struct sb_syms *s, const struct sb_maps *maps,
		 const char *module_base, const char *name, uint64_t *addr)
{
	size_t i;

	for (i = 0; i < maps->n; i++) {
		const struct sb_map *map = &maps->v[i];
		const char *slash = strrchr(map->path, '/');
		struct module *m;
		uint64_t value;
		int l;

		if (map->offset != 0 || !slash ||
		    strncmp(slash + 1, module_base, strlen(module_base)))
			continue;
		m = get_module(s, map);
		if (!m || m->failed)
			continue;
		if (!symtab_find(m->elf, SHT_DYNSYM, name, &value) &&
		    !(m->dbg_elf &&
		      symtab_find(m->dbg_elf, SHT_SYMTAB, name, &value)) &&
		    !symtab_find(m->elf, SHT_SYMTAB, name, &value))
			continue;
		/* Back from the module's address to the process's, through
		 * the segment that holds it. */
		for (l = 0; l < m->nloads; l++) {
			const struct load *ld = &m->loads[l];
			uint64_t bias =
				map->start - (m->loads[0].vaddr & ~0xfffull);

			if (value >= ld->vaddr &&
			    value < ld->vaddr + ld->filesz + 0x100000) {
				*addr = value + bias;
				return 0;
			}
		}
	}
	return -ENOENT;
}

int sb_syms_add_image(struct sb_syms *s, const char *name, const void *image,
		      size_t size)
{
	struct module *m;

	if (size == 0 || size > MAX_IMAGE_SIZE)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->path = strdup(name);
	m->image = malloc(size);
	if (!m->path || !m->image) {
		free(m->path);
		free(m->image);
		free(m);
		return -ENOMEM;
	}
	memcpy(m->image, image, size);
	m->elf = elf_memory(m->image, size);
	if (!m->elf || elf_kind(m->elf) != ELF_K_ELF) {
		if (m->elf)
			elf_end(m->elf);
		free(m->path);
		free(m->image);
		free(m);
		return -ENOEXEC;
	}
	m->next = s->modules;
	s->modules = m;
	return 0;
}

/*
 * The start of the function holding vaddr, from the binary-search table in
 * .eh_frame_hdr: stripped files keep it.  The table gives where each FDE
 * begins; the entry at or below vaddr is taken without parsing the FDE's
 * extent, which is enough to group and never used as a name.  0: unknown.
 */
static uint64_t fde_start(struct module *m, uint64_t vaddr)
{
	Elf_Scn *scn = find_section(m->elf, ".eh_frame_hdr", SHT_PROGBITS);
	const unsigned char *hdr;
	GElf_Shdr sh;
	Elf_Data *d;
	uint32_t count;
	size_t lo = 0, hi;
	int32_t loc;

	if (!scn || !gelf_getshdr(scn, &sh) || !(d = elf_getdata(scn, NULL)) ||
	    d->d_size < 12)
		return 0;
	hdr = d->d_buf;
	/* version 1, a 4-byte eh_frame pointer and count, table of datarel
	 * sdata4 pairs */
	if (hdr[0] != 1 ||
	    ((hdr[1] & 0x0f) != 0x03 && (hdr[1] & 0x0f) != 0x0b) ||
	    hdr[2] != 0x03 || hdr[3] != 0x3b)
		return 0;
	memcpy(&count, hdr + 8, 4);
	if (count == 0 || (d->d_size - 12) / 8 < count)
		return 0;
	hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		memcpy(&loc, hdr + 12 + mid * 8, 4);
		if (sh.sh_addr + (uint64_t)(int64_t)loc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	memcpy(&loc, hdr + 12 + (lo - 1) * 8, 4);
	return sh.sh_addr + (uint64_t)(int64_t)loc;
}

/* The module's own address (ELF vaddr) for a mapped address. */
static bool to_vaddr(const struct module *m, const struct sb_map *map,
		     uint64_t addr, uint64_t *vaddr)
{
	uint64_t off = addr - map->start + map->offset;
	int i;

	for (i = 0; i < m->nloads; i++) {
		const struct load *l = &m->loads[i];

		if (off >= (l->offset & ~0xfffull) &&
		    off < l->offset + l->filesz) {
			*vaddr = off - l->offset + l->vaddr;
			return true;
		}
	}
	return false;
}

static const struct symbol *find_in(const struct symbol *v, size_t n,
				    uint64_t a)
{
	size_t lo = 0, hi = n, i, stop;

	/* Rightmost symbol starting at or below a ... */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ... and the first that really covers it, looking back a little
	 * for an enclosing symbol; never a neighbour that ends before a. */
	stop = lo > LOOK_BACK ? lo - LOOK_BACK : 0;
	for (i = lo; i > stop; i--) {
		const struct symbol *sym = &v[i - 1];

		if (a < sym->addr + sym->size)
			return sym;
	}
	return NULL;
}

/* Whether x is the better name for one address, as cmp_symbol sorts. */
static bool better_name(const struct symbol *x, size_t xlen,
			const struct symbol *y, size_t ylen)
{
	return x->rank > y->rank || (x->rank == y->rank && xlen < ylen);
}

/* Symbols a scan keeps to name in its second step; more: scan again. */
#define SCAN_KEEP 512

struct scan {
	uint64_t top[LOOK_BACK]; /* ascending */
	struct symbol c[LOOK_BACK];
	size_t len[LOOK_BACK];
	int nt;
	uint32_t kept[SCAN_KEEP][2]; /* source, index */
	int nkept; /* SCAN_KEEP + 1: too many */
};

/*
 * One symbol of a scan: in the first step, its address joins top[] if it
 * is among the LOOK_BACK highest at or below a; in the second, it names
 * the address it is at.
 */
static void scan_one(struct scan *sc, bool naming, bool want_data,
		     const struct symsrc *src, const GElf_Sym *sym, int k,
		     size_t j)
{
	struct symbol x;
	bool data;
	int i;

	if (!symbol_kind(sym, &data) || data != want_data ||
	    !(x.name = symbol_name(src, sym)))
		return;
	for (i = sc->nt - 1; i >= 0 && sc->top[i] > sym->st_value; i--)
		;
	if (naming) {
		x.addr = sym->st_value;
		x.size = sym->st_size;
		x.rank = symbol_rank(GELF_ST_BIND(sym->st_info), x.name);
		if (!sc->c[i].name) {
			sc->c[i] = x;
			sc->len[i] = strlen(x.name);
			return;
		}
		if (x.size > sc->c[i].size)
			sc->c[i].size = x.size;
		if (better_name(&x, strlen(x.name), &sc->c[i], sc->len[i])) {
			sc->c[i].name = x.name;
			sc->c[i].rank = x.rank;
			sc->len[i] = strlen(x.name);
		}
		return;
	}
	if (sc->nkept < SCAN_KEEP) {
		sc->kept[sc->nkept][0] = (uint32_t)k;
		sc->kept[sc->nkept][1] = (uint32_t)j;
	}
	if (sc->nkept <= SCAN_KEEP)
		sc->nkept++;
	if (i >= 0 && sc->top[i] == sym->st_value)
		return;
	/* Insert after i; when full, the lowest drops out. */
	if (sc->nt < LOOK_BACK) {
		memmove(&sc->top[i + 2], &sc->top[i + 1],
			(size_t)(sc->nt - i - 1) * sizeof(*sc->top));
		sc->top[i + 1] = sym->st_value;
		sc->nt++;
	} else {
		memmove(&sc->top[0], &sc->top[1], (size_t)i * sizeof(*sc->top));
		sc->top[i] = sym->st_value;
	}
}

/*
 * What find_in() gives on the sorted table, without sorting: a pass over
 * the tables finds the LOOK_BACK highest addresses at or below a that have
 * a symbol (top[]); a second step gives each its best name (the first of
 * the best, as the stable sort keeps) and largest size, from the symbols
 * the pass kept; the highest of them that covers a wins.  One unsigned
 * comparison rejects almost every symbol once top[] is full, a branch the
 * processor predicts.
 */
static bool scan_symbols(const struct module *m, bool want_data, uint64_t a,
			 struct symbol *out)
{
	struct scan sc;
	uint64_t lo = 0;
	int i, k;

	sc.nt = 0;
	sc.nkept = 0;
	for (k = 0; k < m->nsrcs; k++) {
		const struct symsrc *src = &m->srcs[k];
		size_t j;

		for (j = 0; j < src->n; j++) {
			GElf_Sym sym;

			if (src->raw) {
				if (src->raw[j].st_value - lo > a - lo)
					continue;
				sym = src->raw[j];
			} else if (!get_sym(src, j, &sym)) {
				break;
			} else if (sym.st_value - lo > a - lo) {
				continue;
			}
			scan_one(&sc, false, want_data, src, &sym, k, j);
			if (sc.nt == LOOK_BACK)
				lo = sc.top[0];
		}
	}
	for (i = 0; i < sc.nt; i++)
		sc.c[i].name = NULL;
	for (i = 0; i < sc.nkept && sc.nkept <= SCAN_KEEP; i++) {
		const struct symsrc *src = &m->srcs[sc.kept[i][0]];
		GElf_Sym sym;

		if (get_sym(src, sc.kept[i][1], &sym) && sym.st_value >= lo)
			scan_one(&sc, true, want_data, src, &sym, 0, 0);
	}
	for (k = 0; k < m->nsrcs && sc.nkept > SCAN_KEEP; k++) {
		const struct symsrc *src = &m->srcs[k];
		size_t j;

		for (j = 0; j < src->n; j++) {
			GElf_Sym sym;

			if (!get_sym(src, j, &sym))
				break;
			if (sym.st_value - lo <= a - lo)
				scan_one(&sc, true, want_data, src, &sym, 0, 0);
		}
	}
	for (i = sc.nt - 1; i >= 0; i--)
		if (sc.c[i].name && a < sc.c[i].addr + sc.c[i].size) {
			*out = sc.c[i];
			return true;
		}
	return false;
}

/* The function (or, for data, the object) holding module address a. */
static bool find_symbol(struct module *m, bool data, uint64_t a,
			struct symbol *out)
{
	const struct symbol *sym;

	if (!m->tabled && m->scans < LAZY_SCANS) {
		m->scans++;
		return scan_symbols(m, data, a, out);
	}
	if (!m->tabled)
		build_tables(m);
	sym = data ? find_in(m->dsyms, m->ndsyms, a) :
		     find_in(m->syms, m->nsyms, a);
	if (sym)
		*out = *sym;
	return sym != NULL;
}

/* The module's line tables, opened once (libdw reads them as asked). */
static void open_lines(struct module *m)
{
	static char *debuginfo_path = NULL;
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
		.debuginfo_path = &debuginfo_path,
	};

	if (m->dw_tried)
		return;
	m->dw_tried = true;
	if (!m->line_path)
		return;
	m->dwfl = dwfl_begin(&callbacks);
	if (!m->dwfl)
		return;
	dwfl_report_begin(m->dwfl);
	/* Base 0: the module's addresses are its ELF vaddrs. */
	m->dwmod =
		dwfl_report_elf(m->dwfl, m->path, m->line_path, -1, 0, false);
	dwfl_report_end(m->dwfl, NULL, NULL);
}

static bool lines_wanted(const struct sb_syms *s, const struct module *m)
{
	return s->lines == SB_SYMS_LINES_ALL ||
	       (s->lines == SB_SYMS_LINES_PROGRAM &&
		!sb_syms_system_module(m->path));
}

static void find_line(struct module *m, uint64_t vaddr,
		      struct sb_symbol_info *out, struct sb_syms *s)
{
	Dwfl_Line *line;
	const char *file;
	int lineno = 0;

	open_lines(m);
	if (!m->dwmod)
		return;
	line = dwfl_module_getsrc(m->dwmod, vaddr);
	if (!line)
		return;
	file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	if (file && lineno > 0) {
		out->file = own_string(s, file);
		out->line = out->file ? lineno : 0;
	}
}

static struct sb_symbol_info *cache_slot(struct sb_syms *s, uint64_t key)
{
	size_t i;

	if (s->cache_used * 2 >= s->cache_cap) {
		size_t ncap = s->cache_cap ? s->cache_cap * 2 : 1024, j;
		struct cache_entry *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (j = 0; j < s->cache_cap; j++) {
			struct cache_entry *e = &s->cache[j];

			if (!e->key)
				continue;
			i = (e->key * 0x9e3779b97f4a7c15ull) >> 20;
			while (n[i % ncap].key)
				i++;
			n[i % ncap] = *e;
		}
		free(s->cache);
		s->cache = n;
		s->cache_cap = ncap;
	}
	i = (key * 0x9e3779b97f4a7c15ull) >> 20;
	for (;; i++) {
		struct cache_entry *e = &s->cache[i % s->cache_cap];

		if (e->key == key)
			return &e->info;
		if (!e->key) {
			e->key = key;
			e->info.addr = UINT64_MAX; /* not filled yet */
			s->cache_used++;
			return &e->info;
		}
	}
}

int sb_syms_lookup(struct sb_syms *s, const struct sb_maps *maps, uint64_t addr,
		   bool exact, struct sb_symbol_info *out)
{
	uint64_t key = (addr << 1 | exact) ? (addr << 1 | exact) : 2;
	struct sb_symbol_info *slot = cache_slot(s, key);
	const struct sb_map *map;
	struct symbol sym;
	struct module *m;
	uint64_t vaddr;

	if (slot && slot->addr == addr) {
		*out = *slot;
		return out->module ? 0 : -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	map = sb_maps_find(maps, addr);
	m = map && map->path[0] ? get_module(s, map) : NULL;
	if (m) {
		out->module = m->path;
		out->module_offset = addr - map->start + map->offset;
		if (!m->failed) {
			out->build_id = m->build_id[0] ? m->build_id : NULL;
			if (to_vaddr(m, map, addr, &vaddr)) {
				out->module_offset = vaddr;
				if (find_symbol(m, false,
						exact ? vaddr : vaddr - 1,
						&sym)) {
					out->function = sym.name;
					out->offset = vaddr - sym.addr;
					out->function_start = sym.addr;
				} else {
					out->function_start = fde_start(
						m, exact ? vaddr : vaddr - 1);
				}
				if (lines_wanted(s, m))
					find_line(m, exact ? vaddr : vaddr - 1,
						  out, s);
			}
		}
	}
	if (out->function && strchr(out->function, '@')) {
		char buf[512];

		snprintf(buf, sizeof(buf), "%s", out->function);
		buf[strcspn(buf, "@")] = '\0';
		out->function = own_string(s, buf);
	}
	if (slot)
		*slot = *out;
	return out->module ? 0 : -ENOENT;
}

void sb_syms_frames(struct sb_syms *s, const struct sb_maps *maps,
		    const struct sb_frame *raw, int n, struct sb_sym_frame *out)
{
	int i;

	for (i = 0; i < n; i++) {
		out[i].raw = raw[i];
		sb_syms_lookup(s, maps, raw[i].ip, raw[i].exact, &out[i].sym);
		/* glibc's __restore_rt has no size to match; say what it
		 * is, as gdb does. */
		if (raw[i].signal && !out[i].sym.function)
			out[i].sym.function = "<signal handler called>";
	}
}

bool sb_sym_frame_same(const struct sb_sym_frame *a,
		       const struct sb_sym_frame *b)
{
	if (a->sym.module != b->sym.module)
		return false;
	if (a->sym.function && b->sym.function)
		return strcmp(a->sym.function, b->sym.function) == 0;
	if (a->sym.function || b->sym.function)
		return false;
	if (a->sym.function_start)
		return a->sym.function_start == b->sym.function_start;
	return a->sym.addr == b->sym.addr;
}

void sb_syms_free(struct sb_syms *s)
{
	struct module *m, *next;
	size_t i;

	if (!s)
		return;
	for (m = s->modules; m; m = next) {
		next = m->next;
		if (m->dwfl)
			dwfl_end(m->dwfl);
		if (m->dbg_elf)
			elf_end(m->dbg_elf);
		if (m->elf)
			elf_end(m->elf);
		if (m->dbg_fd >= 0 && m->loaded)
			close(m->dbg_fd);
		if (m->fd >= 0 && m->loaded)
			close(m->fd);
		free(m->image);
		free(m->line_path);
		free(m->syms);
		free(m->dsyms);
		free(m->path);
		free(m);
	}
	for (i = 0; i < s->noverrides; i++) {
		free(s->overrides[i].mapped);
		free(s->overrides[i].real);
	}
	free(s->overrides);
	for (i = 0; i < s->nstrings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->cache);
	free(s->sysroot);
	free(s);
}
