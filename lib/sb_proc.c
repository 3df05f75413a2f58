/* sb_proc.c: per-thread counters and process facts, straight from /proc. */
#include "sb_proc.h"
#include "sb_util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sb_proc_clean_name(char *name)
{
	for (; *name; name++)
		if ((unsigned char)*name < 0x20 || *name == 0x7f)
			*name = '?';
}

int sb_proc_parse_stat(const char *text, struct sb_thread_stat *st)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	const char *p;
	unsigned long long v[40];
	size_t namelen;
	int field, n;

	if (!open || !close || close < open)
		return -EINVAL;
	namelen = (size_t)(close - open - 1);
	if (namelen >= sizeof(st->name))
		namelen = sizeof(st->name) - 1;
	memcpy(st->name, open + 1, namelen);
	st->name[namelen] = '\0';
	sb_proc_clean_name(st->name);

	/* After the name: field 3 is the state, then numbers (field 4 on). */
	p = close + 1;
	while (*p == ' ')
		p++;
	if (!isalpha((unsigned char)*p))
		return -EINVAL;
	st->state = *p++;
	for (field = 4; field <= 39; field++) {
		char *end;

		while (*p == ' ')
			p++;
		if (*p == '\0' || *p == '\n')
			break;
		errno = 0;
		/* Some fields are signed (-1 for "none"); keep the bits. */
		if (*p == '-')
			v[field] = (unsigned long long)strtoll(p, &end, 10);
		else
			v[field] = strtoull(p, &end, 10);
		if (end == p || errno)
			return -EINVAL;
		p = end;
	}
	n = field;
	if (n <= 22)
		return -EINVAL;
	st->utime = v[14];
	st->stime = v[15];
	st->starttime = v[22];
	st->processor = n > 39 ? (int)v[39] : -1;
	return 0;
}

int sb_proc_parse_schedstat(const char *text, struct sb_thread_stat *st)
{
	unsigned long long oncpu, wait;

	if (sscanf(text, "%llu %llu", &oncpu, &wait) != 2)
		return -EINVAL;
	st->oncpu_ns = oncpu;
	st->runwait_ns = wait;
	st->has_schedstat = true;
	return 0;
}

static int status_field(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			unsigned long long v;
			char *end;

			p += klen + 1;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (end == p || errno)
				return -EINVAL;
			*out = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int sb_proc_parse_status_ctxsw(const char *text, struct sb_thread_stat *st)
{
	if (status_field(text, "voluntary_ctxt_switches", &st->vcsw) ||
	    status_field(text, "nonvoluntary_ctxt_switches", &st->ivcsw))
		return -EINVAL;
	st->has_ctxsw = true;
	return 0;
}

/* Read one thread's files below the open task directory. */
static int read_thread(int taskfd, pid_t tid, unsigned what,
		       struct sb_thread_stat *st)
{
	char path[64], buf[4096];
	ssize_t r;

	memset(st, 0, sizeof(*st));
	st->tid = tid;
	if (!(what & SB_PROC_NO_STAT)) {
		snprintf(path, sizeof(path), "%d/stat", (int)tid);
		r = sb_read_file_at(taskfd, path, buf, sizeof(buf));
		if (r < 0)
			return (int)r;
		if (sb_proc_parse_stat(buf, st))
			return -EINVAL;
	}
	if (what & SB_PROC_SYSCALL) {
		snprintf(path, sizeof(path), "%d/syscall", (int)tid);
		r = sb_read_file_at(taskfd, path, buf, sizeof(buf));
		/* Gone: leave it out; unreadable: say so. */
		if (r == -ENOENT || r == -ESRCH)
			return -ENOENT;
		st->has_syscall =
			r >= 0 &&
			sb_proc_parse_syscall(buf, &st->syscall_nr,
					      st->syscall_args, &st->syscall_sp,
					      &st->syscall_pc) == 0;
	}
	if (what & SB_PROC_SCHEDSTAT) {
		snprintf(path, sizeof(path), "%d/schedstat", (int)tid);
		if (sb_read_file_at(taskfd, path, buf, sizeof(buf)) > 0)
			sb_proc_parse_schedstat(buf, st);
	}
	if (what & SB_PROC_CTXSW) {
		snprintf(path, sizeof(path), "%d/status", (int)tid);
		if (sb_read_file_at(taskfd, path, buf, sizeof(buf)) > 0)
			sb_proc_parse_status_ctxsw(buf, st);
	}
	if (what & SB_PROC_WCHAN) {
		snprintf(path, sizeof(path), "%d/wchan", (int)tid);
		r = sb_read_file_at(taskfd, path, st->wchan, sizeof(st->wchan));
		if (r < 0 || strcmp(st->wchan, "0") == 0)
			st->wchan[0] = '\0';
	}
	return 0;
}

int sb_proc_thread_read(pid_t pid, pid_t tid, unsigned what,
			struct sb_thread_stat *st)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	err = read_thread(fd, tid, what, st);
	close(fd);
	return err == -ENOENT ? -ESRCH : err;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct sb_thread_stat *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int open_task_dir(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int sb_proc_threads(pid_t pid, unsigned what, struct sb_thread_list *out)
{
	struct dirent *de;
	int taskfd, dfd, err = 0;
	DIR *dir;

	out->n = 0;
	taskfd = open_task_dir(pid);
	if (taskfd < 0)
		return taskfd == -ENOENT ? -ESRCH : taskfd;
	dfd = dup(taskfd);
	dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		err = -errno;
		if (dfd >= 0)
			close(dfd);
		close(taskfd);
		return err;
	}
	out->when_ns = sb_now_ns();
	while ((de = readdir(dir))) {
		struct sb_thread_stat st;
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0)
			continue;
		if (read_thread(taskfd, (pid_t)tid, what, &st))
			continue; /* exited while we looked */
		err = sb_vec_reserve((void **)&out->v, &out->cap, out->n + 1,
				     sizeof(*out->v));
		if (err)
			break;
		out->v[out->n++] = st;
	}
	closedir(dir);
	close(taskfd);
	if (err)
		return err;
	if (out->n == 0)
		return -ESRCH;
	qsort(out->v, out->n, sizeof(*out->v), cmp_tid);
	return 0;
}

int sb_proc_threads_refresh(pid_t pid, unsigned what,
			    struct sb_thread_list *list)
{
	int taskfd = open_task_dir(pid);
	size_t i, kept = 0;

	if (taskfd < 0)
		return taskfd == -ENOENT ? -ESRCH : taskfd;
	list->when_ns = sb_now_ns();
	for (i = 0; i < list->n; i++) {
		struct sb_thread_stat st;

		if (read_thread(taskfd, list->v[i].tid, what, &st) == 0)
			list->v[kept++] = st;
	}
	list->n = kept;
	close(taskfd);
	return 0;
}

void sb_thread_list_free(struct sb_thread_list *list)
{
	free(list->v);
	memset(list, 0, sizeof(*list));
}

const struct sb_thread_stat *sb_thread_list_find(const struct sb_thread_list *l,
						 pid_t tid)
{
	struct sb_thread_stat key = { .tid = tid };

	if (!l->n)
		return NULL;
	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_tid);
}

int sb_proc_parse_syscall(const char *text, long *nr, uint64_t args[3],
			  uint64_t *sp, uint64_t *pc)
{
	uint64_t v[8] = { 0 };
	const char *p = text;
	char *end;
	long n;
	int i, nv = 0;

	*nr = -1;
	args[0] = args[1] = args[2] = 0;
	if (sp)
		*sp = 0;
	if (pc)
		*pc = 0;
	if (strncmp(text, "running", 7) == 0)
		return 0;
	/* "NR 0xARG1 ... 0xARG6 0xSP 0xPC", or "-1 0xSP 0xPC" in a trap. */
	errno = 0;
	n = strtol(p, &end, 10);
	if (end == p || errno)
		return -EINVAL;
	*nr = n;
	for (p = end; nv < 8; nv++) {
		while (*p == ' ')
			p++;
		if (p[0] != '0' || p[1] != 'x')
			break;
		v[nv] = strtoull(p + 2, &end, 16);
		if (end == p + 2)
			break;
		p = end;
	}
	for (i = 0; i < 3; i++)
		args[i] = v[i];
	if (nv >= 2 && sp)
		*sp = v[nv - 2];
	if (nv >= 2 && pc)
		*pc = v[nv - 1];
	return 0;
}

int sb_proc_syscall(pid_t pid, pid_t tid, long *nr, uint64_t args[3])
{
	char path[64], buf[256];
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid,
		 (int)tid);
	r = sb_read_file(path, buf, sizeof(buf));
	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	return sb_proc_parse_syscall(buf, nr, args, NULL, NULL);
}

long sb_proc_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? n : 1;
}

long sb_proc_clk_tck(void)
{
	long n = sysconf(_SC_CLK_TCK);

	return n > 0 ? n : 100;
}

int sb_proc_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	r = sb_read_file(path, buf, size);
	if (r == -EFBIG)
		r = (ssize_t)strlen(buf);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	buf[strcspn(buf, "\n")] = '\0';
	sb_proc_clean_name(buf);
	return 0;
}

int sb_proc_check(pid_t pid, pid_t *leader)
{
	char path[64], buf[4096];
	uint64_t tgid = 0;
	ssize_t r;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	r = sb_read_file(path, buf, sizeof(buf));
	if (r < 0 && r != -EFBIG)
		return r == -ENOENT ? -ESRCH : (int)r;
	if (status_field(buf, "Tgid", &tgid) == 0 && tgid != (uint64_t)pid) {
		if (leader)
			*leader = (pid_t)tgid;
		return -EINVAL;
	}
	return 0;
}
