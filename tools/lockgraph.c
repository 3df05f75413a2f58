/* lockgraph: is this hung process deadlocked — which threads, which locks. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <langinfo.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <time.h>
#include <stdint.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_core.h"
#include "sb_lock.h"
#include "sb_proc.h"
#include "sb_report.h"
#include "sb_syms.h"
#include "sb_util.h"

#include "options.h"

#define EXIT_FOUND 1
#define EXIT_TROUBLE 2
#define SECOND_LOOK_MS 200

/* What a report's names point into: freed after it is printed. */
struct held {
	struct sb_maps maps;
	struct sb_syms *syms;
	struct sb_core *core;
};

struct opts {
	bool json;
	bool all;
	const char *dot;
	const char *exe;
	pid_t pid;
	const char *core;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lockgraph [-aj] [--dot file] -p pid\n"
		"       lockgraph [-aj] [--dot file] [-e executable] core\n"
		"\n"
		"Is this hung process deadlocked: the cycle of threads and "
		"locks.\n"
		"\n"
		"  -p, --pid pid          the process to examine\n"
		"  -e, --executable file  a core's executable, if it moved\n"
		"  -a, --all              every thread's stack, not only the "
		"cycle's\n"
		"  -j, --json             one JSON document\n"
		"      --dot file         the wait-for graph for Graphviz\n"
		"  -h, --help             this help\n"
		"  -V, --version          the version\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "dot", required_argument, NULL, 'D' },
		{ "executable", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "aje:p:hV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'a':
			o->all = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'D':
			o->dot = optarg;
			break;
		case 'e':
			o->exe = optarg;
			break;
		case 'p':
			o->pid = (pid_t)option_whole(optarg, 1, 1 << 22, "pid");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lockgraph (sickbay) %s\n", SB_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		o->core = argv[optind++];
	if (optind < argc || (!o->pid) == (!o->core)) {
		warnx(o->pid && o->core ? "give -p pid or a core, not both" :
					  "give -p pid or a core");
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/*
 * Threads and what each is blocked in, from /proc: no stop needed.  Only
 * the syscall files: a thread is running when it is in none, and names
 * are read later for the threads a report shows (name_threads).
 */
static int read_threads(pid_t pid, struct sb_lock_thread_in **out)
{
	struct sb_thread_list list = { 0 };
	struct sb_lock_thread_in *t;
	size_t i;
	int n = 0, err = sb_proc_threads(pid, SB_PROC_SYSCALL | SB_PROC_NO_STAT,
					 &list);

	if (err)
		return err;
	t = calloc(list.n + 1, sizeof(*t));
	if (!t) {
		sb_thread_list_free(&list);
		return -ENOMEM;
	}
	for (i = 0; i < list.n; i++) {
		const struct sb_thread_stat *st = &list.v[i];

		if (!st->has_syscall)
			continue; /* unreadable */
		t[n].tid = st->tid;
		t[n].unnamed = true;
		t[n].nr = st->syscall_nr;
		t[n].state = st->syscall_nr < 0 ? 'R' : 'S';
		memcpy(t[n].args, st->syscall_args, sizeof(t[n].args));
		t[n].pc = st->syscall_pc;
		n++;
	}
	sb_thread_list_free(&list);
	*out = t;
	return n;
}

/* in->name_of for a live process: the name from the thread's stat. */
static void name_of(void *ctx, pid_t tid, char name[16])
{
	struct sb_thread_stat st;

	name[0] = '\0';
	if (sb_proc_thread_read((pid_t)(intptr_t)ctx, tid, 0, &st) == 0)
		memcpy(name, st.name, sizeof(st.name));
}

/*
 * Name the threads the report shows: those of the cycles, or every
 * blocked one.  One stat file each, or one pass over all of them when
 * there are many: for a deadlock of two among a hundred, reading every
 * name was a third of the second look.
 */
static void name_threads(pid_t pid, struct sb_lock_report *r, bool every)
{
	struct sb_thread_list list = { 0 };
	int i, k, want = 0;

	for (i = 0; i < r->nthreads; i++) {
		struct sb_lock_wait *w = &r->threads[i];
		bool shown = every && w->type != SB_LOCK_NONE;

		for (k = 0; !shown && k < r->ncycles; k++) {
			int j;

			for (j = 0; j < r->cycles[k].len; j++)
				shown |= r->cycles[k].thread[j] == i;
		}
		if (!w->unnamed || !shown)
			continue;
		w->unnamed = false;
		w->name[0] = '\0';
		if (++want == 8 && sb_proc_threads(pid, 0, &list))
			list.n = 0;
		if (want < 8) {
			name_of((void *)(intptr_t)pid, w->tid, w->name);
		} else {
			const struct sb_thread_stat *st =
				sb_thread_list_find(&list, w->tid);

			if (st)
				memcpy(w->name, st->name, sizeof(w->name));
		}
	}
	sb_thread_list_free(&list);
}

/*
 * The registers of the threads blocked in futex waits, for their stacks:
 * they are stopped together (they are not running anyway), read, and let
 * go at once; their stacks cannot change while they stay blocked.
 */
static int read_blocked_regs(struct sb_lock_thread_in *t, int n,
			     double *stopped_ms)
{
	struct sb_stop *stops = calloc((size_t)n + 1, sizeof(*stops));
	int *which = calloc((size_t)n + 1, sizeof(*which));
	int i, m = 0, r;

	*stopped_ms = 0;
	if (!stops || !which) {
		free(stops);
		free(which);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (t[i].nr == 202) {
			which[m] = i;
			stops[m++].tid = t[i].tid;
		}
	r = m ? sb_attach_stop(stops, m, 200) : 0;
	for (i = 0; r >= 0 && i < m; i++)
		if (stops[i].stopped && ptrace(PTRACE_GETREGS, stops[i].tid, 0,
					       &t[which[i]].regs) == 0)
			t[which[i]].has_regs = true;
	if (m)
		sb_attach_resume_all(stops, m);
	/* They are stopped together: the window from the first stop to the
	 * last release is how long the process was held, not the sum. */
	{
		uint64_t first = UINT64_MAX, last = 0;

		for (i = 0; i < m; i++) {
			if (!stops[i].stopped_ns)
				continue;
			if (stops[i].t_stop_ns < first)
				first = stops[i].t_stop_ns;
			if (stops[i].t_stop_ns + stops[i].stopped_ns > last)
				last = stops[i].t_stop_ns + stops[i].stopped_ns;
		}
		if (last > first)
			*stopped_ms = (double)(last - first) / 1e6;
	}
	free(stops);
	free(which);
	return r < 0 ? r : 0;
}

static void thread_words(const struct sb_lock_wait *w, char *buf, size_t size)
{
	if (w->name[0])
		snprintf(buf, size, "thread %d '%s'", (int)w->tid, w->name);
	else
		snprintf(buf, size, "thread %d", (int)w->tid);
}

static void print_stack(FILE *f, const struct sb_lock_wait *w)
{
	int i;

	for (i = 0; i < w->nframes; i++)
		sb_report_frame_text(f, i, &w->frames[i].sym, "      ");
}

/* lockdep's scenario: who took what, in columns, for short cycles. */
static void print_scenario(FILE *f, const struct sb_lock_report *r,
			   const struct sb_lock_cycle *c)
{
	const int width = 30;
	char head[64];
	int i, k;

	if (c->len < 2)
		return;
	fprintf(f, "\nscenario:\n");
	if (c->len > 3) {
		for (i = 0; i < c->len; i++) {
			const struct sb_lock_wait *w =
				&r->threads[c->thread[i]];
			const struct sb_lock_wait *prev =
				&r->threads[c->thread[(i + c->len - 1) %
						      c->len]];

			thread_words(w, head, sizeof(head));
			fprintf(f, "  %s holds %s, wants %s\n", head,
				prev->object_name, w->object_name);
		}
		fprintf(f, "\n  *** DEADLOCK ***\n");
		return;
	}
	fputs("  ", f);
	for (i = 0; i < c->len; i++) {
		const struct sb_lock_wait *w = &r->threads[c->thread[i]];

		snprintf(head, sizeof(head), "%s (%d)",
			 w->name[0] ? w->name : "thread", (int)w->tid);
		fprintf(f, "%-*s", i + 1 < c->len ? width : 0, head);
	}
	fputs("\n  ", f);
	for (i = 0; i < c->len; i++)
		fprintf(f, "%-*s", i + 1 < c->len ? width : 0, "----");
	fputc('\n', f);
	/* First each takes what it holds, then each asks for the next. */
	for (k = 0; k < 2; k++)
		for (i = 0; i < c->len; i++) {
			const struct sb_lock_wait *w =
				&r->threads[c->thread[i]];
			const struct sb_lock_wait *held =
				&r->threads[c->thread[(i + c->len - 1) %
						      c->len]];
			char cell[256];

			const struct sb_lock_wait *x = k ? w : held;

			/* A join is waited for, not taken: the joined
			 * thread just runs on (into its own wait). */
			if (!k && x->type == SB_LOCK_JOIN)
				snprintf(cell, sizeof(cell), "(runs)");
			else if (x->type == SB_LOCK_JOIN)
				snprintf(cell, sizeof(cell),
					 "pthread_join(%s);", x->object_name);
			else
				snprintf(cell, sizeof(cell), "lock(%s);",
					 x->object_name);
			fprintf(f, "  %*s%s\n", i * width, "", cell);
		}
	fprintf(f, "\n  *** DEADLOCK ***\n");
}

static void print_text(FILE *f, const struct sb_lock_report *r,
		       const struct opts *o, double stopped_ms)
{
	bool color = sb_report_use_color(f);
	char who[64], whom[64];
	int i, k;

	fprintf(f, "%s%s%s\n", color ? "\033[1m" : "", r->verdict,
		color ? "\033[0m" : "");
	fprintf(f, "%d thread%s: %d blocked, %d running%s", r->nthreads,
		r->nthreads == 1 ? "" : "s", r->nblocked, r->nrunnable,
		o->core ? "" : "; blocked threads stopped ");
	if (!o->core)
		fprintf(f, "%.1f ms in all to read their registers",
			stopped_ms);
	fputc('\n', f);
	for (k = 0; k < r->ncycles; k++) {
		const struct sb_lock_cycle *c = &r->cycles[k];

		fprintf(f, "\ncycle %d:\n", k + 1);
		for (i = 0; i < c->len; i++) {
			const struct sb_lock_wait *w =
				&r->threads[c->thread[i]];

			thread_words(w, who, sizeof(who));
			if (w->owner_index >= 0)
				thread_words(&r->threads[w->owner_index], whom,
					     sizeof(whom));
			fprintf(f, "  %s waits for %s (%s), held by %s\n", who,
				w->object_name, w->kind,
				w->owner_index == c->thread[i] ? "itself" :
								 whom);
			print_stack(f, w);
		}
		print_scenario(f, r, c);
	}
	if (r->hung || o->all || !r->deadlocked) {
		fprintf(f, "\nblocked threads:\n");
		for (i = 0; i < r->nthreads; i++) {
			const struct sb_lock_wait *w = &r->threads[i];

			if (w->type == SB_LOCK_NONE)
				continue;
			thread_words(w, who, sizeof(who));
			fprintf(f, "  %s waits %s %s%s%s", who,
				w->type == SB_LOCK_JOIN ? "to join" : "on",
				w->type == SB_LOCK_JOIN ?
					"" :
					sb_lock_type_str(w->type),
				w->type == SB_LOCK_JOIN ? "" : " ",
				w->object_name);
			if (w->owner)
				fprintf(f, ", held by thread %d%s",
					(int)w->owner,
					w->owner_index < 0 ? " (exited)" : "");
			fputc('\n', f);
			if (o->all || r->hung)
				print_stack(f, w);
		}
	}
}

static json_object *wait_json(const struct sb_lock_wait *w)
{
	json_object *o = json_object_new_object(), *wf, *stack;
	int i;

	json_object_object_add(o, "tid", json_object_new_int(w->tid));
	json_object_object_add(o, "thread_name",
			       w->name[0] ? json_object_new_string(w->name) :
					    NULL);
	wf = json_object_new_object();
	json_object_object_add(wf, "addr", sb_report_hex(w->object));
	json_object_object_add(wf, "name",
			       json_object_new_string(w->object_name));
	json_object_object_add(
		wf, "type", json_object_new_string(sb_lock_type_str(w->type)));
	json_object_object_add(wf, "kind", json_object_new_string(w->kind));
	json_object_object_add(o, "waits_for", wf);
	json_object_object_add(o, "held_by_tid",
			       w->owner ? json_object_new_int(w->owner) : NULL);
	stack = json_object_new_array();
	for (i = 0; i < w->nframes; i++)
		json_object_array_add(stack,
				      sb_report_frame_json(&w->frames[i].sym));
	json_object_object_add(o, "stack", stack);
	return o;
}

static void print_json(FILE *f, pid_t pid, const struct sb_lock_report *r)
{
	json_object *doc = json_object_new_object(), *cycles, *blocked, *orph;
	int i, k;

	json_object_object_add(doc, "tool",
			       json_object_new_string("lockgraph"));
	json_object_object_add(doc, "version",
			       json_object_new_string(SB_VERSION));
	json_object_object_add(doc, "pid", json_object_new_int(pid));
	json_object_object_add(doc, "verdict",
			       json_object_new_string(r->verdict));
	json_object_object_add(doc, "deadlocked",
			       json_object_new_boolean(r->deadlocked));
	json_object_object_add(doc, "hung", json_object_new_boolean(r->hung));
	cycles = json_object_new_array();
	for (k = 0; k < r->ncycles; k++) {
		json_object *c = json_object_new_array();

		for (i = 0; i < r->cycles[k].len; i++)
			json_object_array_add(
				c,
				wait_json(&r->threads[r->cycles[k].thread[i]]));
		json_object_array_add(cycles, c);
	}
	json_object_object_add(doc, "cycles", cycles);
	blocked = json_object_new_array();
	orph = json_object_new_array();
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_lock_wait *w = &r->threads[i];

		if (w->type == SB_LOCK_NONE)
			continue;
		json_object_array_add(blocked, wait_json(w));
		if (w->owner && w->owner_index < 0) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "addr",
					       sb_report_hex(w->object));
			json_object_object_add(
				o, "name",
				json_object_new_string(w->object_name));
			json_object_object_add(o, "owner_tid",
					       json_object_new_int(w->owner));
			json_object_object_add(o, "waiter_tid",
					       json_object_new_int(w->tid));
			json_object_array_add(orph, o);
		}
	}
	json_object_object_add(doc, "blocked_threads", blocked);
	json_object_object_add(doc, "orphaned_locks", orph);
	fprintf(f, "%s\n",
		json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
}

/* The wait-for graph for Graphviz: threads, locks, the cycle in red. */
static int write_dot(const char *path, const struct sb_lock_report *r)
{
	FILE *f = fopen(path, "w");
	int i, k, j;

	if (!f)
		return -errno;
	fprintf(f, "digraph waitfor {\n  rankdir=LR;\n");
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_lock_wait *w = &r->threads[i];
		bool in_cycle = false;

		if (w->type == SB_LOCK_NONE && !w->owner)
			continue;
		for (k = 0; k < r->ncycles; k++)
			for (j = 0; j < r->cycles[k].len; j++)
				in_cycle |= r->cycles[k].thread[j] == i;
		fprintf(f, "  t%d [shape=ellipse label=\"%d %s\"%s];\n",
			(int)w->tid, (int)w->tid, w->name,
			in_cycle ? " color=red" : "");
		if (w->type == SB_LOCK_NONE)
			continue;
		fprintf(f, "  t%d -> l%llx [label=\"waits\"%s];\n", (int)w->tid,
			(unsigned long long)w->object,
			in_cycle ? " color=red" : "");
		/* One box and one "held by" per lock, however many wait. */
		for (j = 0; j < i; j++)
			if (r->threads[j].type != SB_LOCK_NONE &&
			    r->threads[j].object == w->object)
				break;
		if (j < i)
			continue;
		fprintf(f, "  l%llx [shape=box label=\"%s\\n%s\"%s];\n",
			(unsigned long long)w->object, w->object_name, w->kind,
			in_cycle ? " color=red" : "");
		if (w->owner)
			fprintf(f, "  l%llx -> t%d [label=\"held by\"%s];\n",
				(unsigned long long)w->object, (int)w->owner,
				in_cycle ? " color=red" : "");
	}
	fprintf(f, "}\n");
	return fclose(f) ? -errno : 0;
}

/* Sleep until the monotonic clock (sb_now_ns) reads t_ns. */
static void sleep_until(uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000u),
			       (long)(t_ns % 1000000000u) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

/*
 * Work for the pause between the looks, which runs anyway: load the
 * modules the second look names frames in (the program's own code with
 * its line table, and the libraries the blocked threads wait in), and name
 * the instructions they wait at, which will be their stacks' first frames.
 */
static void warm(struct sb_syms *syms, const struct sb_maps *maps,
		 const struct sb_lock_thread_in *t, int n)
{
	struct sb_symbol_info info;
	size_t k;
	int i;

	for (k = 0; k < maps->n; k++)
		if (maps->v[k].x && maps->v[k].path[0] == '/' &&
		    !sb_syms_system_module(maps->v[k].path))
			sb_syms_warm(syms, &maps->v[k]);
	for (i = 0; i < n; i++)
		if (t[i].nr == 202 && t[i].pc)
			sb_syms_lookup(syms, maps, t[i].pc, true, &info);
}

/*
 * Two looks at a live process, SECOND_LOOK_MS apart; only what stays the
 * same is accused.  The first look reads only /proc; reading the maps,
 * analysing that look and loading symbols happen during the pause.
 */
static int look_live(const struct opts *o, struct sb_lock_report *rep,
		     double *stopped_ms, struct held *keep)
{
	struct sb_lock_report first;
	struct sb_lock_thread_in *t = NULL;
	struct sb_lock_input in = { .pid = o->pid };
	struct sb_maps maps;
	struct sb_syms *syms;
	uint64_t second;
	int n, rc;

	n = read_threads(o->pid, &t);
	second = sb_now_ns() + (uint64_t)SECOND_LOOK_MS * 1000000u;
	rc = sb_maps_read(o->pid, &maps);
	if (rc == -ESRCH)
		errx(EXIT_TROUBLE, "no process %d", (int)o->pid);
	if (rc)
		errx(EXIT_TROUBLE, "cannot read process %d: %s%s%s",
		     (int)o->pid, strerror(-rc), rc == -EACCES ? ": " : "",
		     rc == -EACCES ? sb_attach_explain(o->pid) : "");
	if (n < 0)
		errx(EXIT_TROUBLE,
		     n == -ESRCH ? "no process %d" :
				   "cannot read "
				   "process %d",
		     (int)o->pid);
	syms = sb_syms_new(o->pid, NULL);
	if (!syms)
		errx(EXIT_TROUBLE, "out of memory");
	sb_syms_set_lines(syms, SB_SYMS_LINES_PROGRAM);
	in.maps = &maps;
	in.mem = sb_memsrc_live(o->pid);
	in.syms = syms;
	in.name_of = name_of;
	in.name_ctx = (void *)(intptr_t)o->pid;
	in.nthreads = n;
	in.threads = t;
	if (sb_lock_analyze(&in, NULL, &first))
		errx(EXIT_TROUBLE, "out of memory");
	warm(syms, &maps, t, n);
	free(t);
	in.unwinder = sb_unwinder_new(&in.mem, &maps);
	if (!in.unwinder)
		errx(EXIT_TROUBLE, "out of memory");
	sleep_until(second);

	n = read_threads(o->pid, &t);
	if (n < 0)
		errx(EXIT_TROUBLE, "process %d exited between two looks",
		     (int)o->pid);
	rc = read_blocked_regs(t, n, stopped_ms);
	if (rc == -EPERM)
		warnx("cannot stop the blocked threads of process %d for their "
		      "stacks: %s",
		      (int)o->pid, sb_attach_explain(o->pid));
	in.nthreads = n;
	in.threads = t;
	if (sb_lock_analyze(&in, &first, rep))
		errx(EXIT_TROUBLE, "out of memory");
	sb_unwinder_free(in.unwinder);
	sb_lock_report_free(&first);
	free(t);
	keep->maps = maps;
	keep->syms = syms;
	return rc == -EPERM ? EXIT_TROUBLE : 0;
}

/* One look at a core of a hung process (gcore, or kill -ABRT). */
static int look_core(const struct opts *o, struct sb_lock_report *rep,
		     pid_t *pid, struct held *keep)
{
	struct sb_core_opts copts = { .exe = o->exe };
	struct sb_lock_input in = { 0 };
	struct sb_lock_thread_in *t;
	struct sb_core *core;
	struct sb_syms *syms;
	char errbuf[512];
	int i, rc;

	rc = sb_core_open(o->core, &copts, &core, errbuf, sizeof(errbuf));
	if (rc)
		errx(EXIT_TROUBLE, "%s", errbuf);
	if (core->complete)
		warnx("%s", core->problem);
	syms = sb_syms_new(0, NULL);
	if (!syms)
		errx(EXIT_TROUBLE, "out of memory");
	sb_syms_set_lines(syms, SB_SYMS_LINES_PROGRAM);
	if (o->exe && core->exe)
		sb_syms_set_file(syms, core->exe, o->exe);
	t = calloc((size_t)core->nthreads + 1, sizeof(*t));
	if (!t)
		errx(EXIT_TROUBLE, "out of memory");
	for (i = 0; i < core->nthreads; i++) {
		const struct user_regs_struct *r = &core->threads[i].regs;

		t[i].tid = core->threads[i].tid;
		t[i].state = 'S';
		/* A thread in a system call keeps its number in orig_rax
		 * and the arguments in their registers. */
		t[i].nr = (long)r->orig_rax;
		t[i].args[0] = r->rdi;
		t[i].args[1] = r->rsi;
		t[i].args[2] = r->rdx;
		t[i].has_regs = true;
		t[i].regs = *r;
		t[i].pc = r->rip;
		if (t[i].tid == core->pid)
			memcpy(t[i].name, core->fname, sizeof(t[i].name) - 1);
	}
	in.pid = core->pid;
	in.maps = &core->maps;
	in.mem = sb_core_memsrc(core);
	in.syms = syms;
	in.nthreads = core->nthreads;
	in.threads = t;
	if (sb_lock_analyze(&in, NULL, rep))
		errx(EXIT_TROUBLE, "out of memory");
	*pid = core->pid;
	free(t);
	keep->core = core;
	keep->syms = syms;
	return core->complete ? EXIT_TROUBLE : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct sb_lock_report rep;
	struct held keep = { 0 };
	double stopped_ms = 0;
	bool found;
	pid_t pid, leader;
	int rc;

	parse_opts(argc, argv, &o);
	setlocale(LC_ALL, "");
	if (o.pid) {
		rc = sb_proc_check(o.pid, &leader);
		if (rc == -ESRCH)
			errx(EXIT_TROUBLE, "no process %d", (int)o.pid);
		if (rc == -EINVAL) {
			warnx("%d is a thread of process %d: examining the "
			      "process",
			      (int)o.pid, (int)leader);
			o.pid = leader;
		}
		rc = look_live(&o, &rep, &stopped_ms, &keep);
		pid = o.pid;
		name_threads(pid, &rep,
			     o.json || o.dot || o.all || rep.hung ||
				     !rep.deadlocked);
	} else {
		rc = look_core(&o, &rep, &pid, &keep);
	}
	if (o.json)
		print_json(stdout, pid, &rep);
	else
		print_text(stdout, &rep, &o, stopped_ms);
	if (o.dot && write_dot(o.dot, &rep))
		warn("cannot write '%s'", o.dot);
	found = rep.deadlocked || rep.hung;
	sb_lock_report_free(&rep);
	sb_syms_free(keep.syms);
	sb_maps_free(&keep.maps);
	sb_core_close(keep.core);
	if (fflush(stdout) || ferror(stdout))
		err(EXIT_TROUBLE, "write error on standard output");
	if (rc)
		return rc;
	return found ? EXIT_FOUND : 0;
}
