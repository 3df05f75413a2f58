/* hotthread: which thread of a process burns the CPU, and what is it doing. */
#include <curses.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_hot.h"
#include "sb_proc.h"
#include "sb_report.h"
#include "sb_util.h"

#include "options.h"

#define EXIT_TROUBLE 2
#define TEXT_ROWS 20

struct opts {
	bool batch;
	bool json;
	bool folded;
	double interval_s;
	long count; /* windows; 0 = until q or Ctrl-C (live view) */
	bool count_set;
	int max_hot;
	int samples;
	pid_t pid;
	const char *name;
};

static volatile int interrupted;
static const char *arrow = "<-";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hotthread [-bj] [-d seconds] [-n count] [-k threads] "
		"[-s samples]\n"
		"                 [--folded] [-p pid | -C name]\n"
		"\n"
		"Which thread of a process burns the CPU, and what it is "
		"doing.\n"
		"\n"
		"  -p, --pid pid        the process to examine\n"
		"  -C, --command name   the process called name\n"
		"                       (neither: the busiest process on the "
		"machine)\n"
		"  -d, --delay seconds  measuring window (default 1)\n"
		"  -n, --count count    windows to show (default 1; live view: "
		"until q)\n"
		"  -k, --hot threads    hot threads to profile (default 3)\n"
		"  -s, --samples n      stacks per hot thread per window "
		"(default 20)\n"
		"  -b, --batch          plain text, even on a terminal\n"
		"  -j, --json           one JSON object per window\n"
		"      --folded         folded stacks for flame graphs\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "hot", required_argument, NULL, 'k' },
		{ "samples", required_argument, NULL, 's' },
		{ "folded", no_argument, NULL, 'F' },
		{ "pid", required_argument, NULL, 'p' },
		{ "command", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "bjd:n:k:s:p:C:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'b':
			o->batch = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'd':
			o->interval_s =
				option_number(optarg, 0.05, 3600, "delay");
			break;
		case 'n':
			o->count = option_whole(optarg, 1, 1000000000, "count");
			o->count_set = true;
			break;
		case 'k':
			o->max_hot = (int)option_whole(optarg, 0, 64,
						       "hot thread count");
			break;
		case 's':
			o->samples = (int)option_whole(optarg, 0, 1000,
						       "sample count");
			break;
		case 'F':
			o->folded = true;
			break;
		case 'p':
			o->pid = (pid_t)option_whole(optarg, 1, 1 << 22, "pid");
			break;
		case 'C':
			o->name = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("hotthread (sickbay) %s\n", SB_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (o->pid && o->name) {
		warnx("-p and -C both name a process: give one");
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (o->json && o->folded) {
		warnx("-j and --folded are two output formats: pick one");
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/* Turn -p, -C or nothing into the process to look at. */
static pid_t resolve_target(const struct opts *o)
{
	pid_t pids[16], leader = 0;
	int n, i, err;

	if (o->pid) {
		err = sb_proc_check(o->pid, &leader);
		if (err == -ESRCH)
			errx(EXIT_TROUBLE, "no process %d", (int)o->pid);
		if (err == -EINVAL) {
			warnx("%d is a thread of process %d: examining the "
			      "process",
			      (int)o->pid, (int)leader);
			return leader;
		}
		if (err)
			errx(EXIT_TROUBLE, "cannot read process %d: %s",
			     (int)o->pid, strerror(-err));
		return o->pid;
	}
	if (o->name) {
		n = sb_proc_find_by_name(o->name, pids, 16);
		if (n < 0)
			errx(EXIT_TROUBLE, "cannot list processes: %s",
			     strerror(-n));
		if (n == 0)
			errx(EXIT_TROUBLE, "no process named '%s'", o->name);
		if (n > 1) {
			fprintf(stderr,
				"hotthread: %d processes named '%s':", n,
				o->name);
			for (i = 0; i < n && i < 16; i++)
				fprintf(stderr, " %d", (int)pids[i]);
			fprintf(stderr, "; pick one with -p\n");
			exit(EXIT_TROUBLE);
		}
		return pids[0];
	} else {
		struct sb_proc_usage *top;
		double window = o->interval_s < 1 ? o->interval_s : 1;
		pid_t pid;

		n = sb_proc_top(window, &top);
		if (n < 0)
			errx(EXIT_TROUBLE, "cannot measure processes: %s",
			     strerror(-n));
		if (n == 0)
			errx(EXIT_TROUBLE, "no process to examine");
		pid = top[0].pid;
		warnx("no -p: examining the busiest process, %d '%s' "
		      "(%.0f %% CPU)",
		      (int)pid, top[0].name, top[0].cpu_pct);
		free(top);
		return pid;
	}
}

static const char *not_sampled_why(const struct sb_hot_report *r)
{
	if (r->err_ptrace == -EACCES)
		return "its memory may not be read";
	if (r->err_ptrace)
		return "ptrace was refused";
	if (r->sampling_off)
		return "sampling is off: -s 0 or -k 0";
	if (r->exited)
		return "the process exited";
	if (r->interrupted)
		return "the window was interrupted";
	return "it became hot after the window's first probe";
}

/* Plain text: the verdict first, then the evidence. */
static void print_text(FILE *f, const struct sb_hot_report *r, int rows,
		       bool color)
{
	const char *bold = color ? "\033[1m" : "",
		   *off = color ? "\033[0m" : "";
	char name[256], fl[256];
	int i, g, k, shown;

	fprintf(f, "%s%s%s\n", bold, r->verdict, off);
	fprintf(f, "process %d '%s': %d threads on %ld CPUs over %.2f s\n",
		(int)r->pid, r->comm, r->nthreads, r->ncpu, r->interval_s);
	fprintf(f,
		"target stopped %.1f ms in all (%d stops, longest %.2f ms)\n\n",
		r->target_stopped_ms, r->stops, r->max_stop_ms);
	fprintf(f, "  %7s %-15s %1s %6s %5s %5s %7s %7s %5s %3s\n", "TID",
		"NAME", "S", "CPU%", "USR%", "SYS%", "VCSW/s", "IVCSW/s",
		"WAIT%", "CPU");
	shown = r->nthreads < rows ? r->nthreads : rows;
	for (i = 0; i < shown; i++) {
		const struct sb_hot_thread *t = &r->threads[i];

		fprintf(f,
			"%c %7d %-15s %c %6.1f %5.1f %5.1f %7.1f %7.1f %5.1f %3d\n",
			t->hot ? '*' : ' ', (int)t->tid, t->name, t->state,
			t->cpu_pct, t->user_pct, t->sys_pct, t->vcsw_per_s,
			t->ivcsw_per_s, t->runwait_pct, t->processor);
	}
	if (shown < r->nthreads)
		fprintf(f,
			"  (%d more threads, each at or below %.1f %% CPU)\n",
			r->nthreads - shown, r->threads[shown].cpu_pct);
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_hot_thread *t = &r->threads[i];

		if (!t->hot)
			continue;
		fprintf(f, "\nthread %d '%s': ", (int)t->tid, t->name);
		if (!t->nsamples) {
			fprintf(f, "not sampled (%s)\n", not_sampled_why(r));
			continue;
		}
		fprintf(f,
			"%d sample%s, stopped %.2f ms in all, longest %.2f "
			"ms\n",
			t->nsamples, t->nsamples == 1 ? "" : "s", t->stopped_ms,
			t->max_stop_ms);
		for (g = 0; g < t->ngroups; g++) {
			const struct sb_hot_group *gr = &t->groups[g];
			const struct sb_sym_frame *lf =
				sb_hot_group_user_frame(gr);

			fprintf(f, "  %3.0f %% ",
				100.0 * gr->count / t->nsamples);
			for (k = 0; k < gr->nframes && k < 4; k++) {
				if (k)
					fprintf(f, " %s ", arrow);
				fputs(sb_report_frame_name(&gr->frames[k].sym,
							   name, sizeof(name)),
				      f);
			}
			if (gr->nframes > 4)
				fprintf(f, " %s ...", arrow);
			if (lf)
				fprintf(f, " (%s)",
					sb_report_file_line(&lf->sym, fl,
							    sizeof(fl)));
			fputc('\n', f);
			if (g > 0)
				continue;
			for (k = 0; k < gr->nframes; k++)
				sb_report_frame_text(f, k, &gr->frames[k].sym,
						     "    ");
			if (gr->end != SB_STACK_END_OUTERMOST)
				fprintf(f, "        (stack ends: %s)\n",
					sb_stack_end_str(gr->end));
		}
	}
}

static json_object *jdouble(double v)
{
	return json_object_new_double(round(v * 100) / 100);
}

static void print_json(FILE *f, const struct sb_hot_report *r,
		       const struct opts *o)
{
	json_object *doc = json_object_new_object(), *threads, *t, *samples;
	char state[2] = "";
	int i, g, k;

	json_object_object_add(doc, "tool",
			       json_object_new_string("hotthread"));
	json_object_object_add(doc, "version",
			       json_object_new_string(SB_VERSION));
	json_object_object_add(doc, "pid", json_object_new_int(r->pid));
	json_object_object_add(doc, "comm", json_object_new_string(r->comm));
	json_object_object_add(doc, "interval_s", jdouble(r->interval_s));
	json_object_object_add(doc, "requested_interval_s",
			       jdouble(o->interval_s));
	json_object_object_add(doc, "ncpu", json_object_new_int((int)r->ncpu));
	json_object_object_add(doc, "nthreads",
			       json_object_new_int(r->nthreads));
	json_object_object_add(
		doc, "target_stopped_ms",
		json_object_new_double(round(r->target_stopped_ms * 1000) /
				       1000));
	json_object_object_add(
		doc, "max_stop_ms",
		json_object_new_double(round(r->max_stop_ms * 1000) / 1000));
	json_object_object_add(doc, "stops", json_object_new_int(r->stops));
	json_object_object_add(doc, "verdict",
			       json_object_new_string(r->verdict));
	json_object_object_add(doc, "too_many_threads",
			       json_object_new_boolean(r->storm));
	json_object_object_add(doc, "contending_threads",
			       json_object_new_int(r->ncontending));
	json_object_object_add(doc, "complete",
			       json_object_new_boolean(!r->err_ptrace &&
						       !r->exited &&
						       !r->interrupted));
	json_object_object_add(doc, "exited",
			       json_object_new_boolean(r->exited));
	threads = json_object_new_array();
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_hot_thread *th = &r->threads[i];

		t = json_object_new_object();
		state[0] = th->state;
		json_object_object_add(t, "tid", json_object_new_int(th->tid));
		json_object_object_add(t, "name",
				       json_object_new_string(th->name));
		json_object_object_add(t, "state",
				       json_object_new_string(state));
		json_object_object_add(t, "cpu_pct", jdouble(th->cpu_pct));
		json_object_object_add(t, "user_pct", jdouble(th->user_pct));
		json_object_object_add(t, "sys_pct", jdouble(th->sys_pct));
		json_object_object_add(t, "vcsw_per_s",
				       jdouble(th->vcsw_per_s));
		json_object_object_add(t, "ivcsw_per_s",
				       jdouble(th->ivcsw_per_s));
		json_object_object_add(t, "runwait_pct",
				       jdouble(th->runwait_pct));
		json_object_object_add(t, "processor",
				       json_object_new_int(th->processor));
		json_object_object_add(t, "hot",
				       json_object_new_boolean(th->hot));
		if (th->hot) {
			json_object_object_add(t, "stopped_ms",
					       jdouble(th->stopped_ms));
			samples = json_object_new_array();
			for (g = 0; g < th->ngroups; g++) {
				const struct sb_hot_group *gr = &th->groups[g];
				json_object *s = json_object_new_object();
				json_object *stack = json_object_new_array();

				for (k = 0; k < gr->nframes; k++)
					json_object_array_add(
						stack,
						sb_report_frame_json(
							&gr->frames[k].sym));
				json_object_object_add(
					s, "count",
					json_object_new_int(gr->count));
				json_object_object_add(s, "stack", stack);
				json_object_object_add(
					s, "stack_end",
					json_object_new_string(
						sb_stack_end_str(gr->end)));
				json_object_array_add(samples, s);
			}
			json_object_object_add(t, "samples", samples);
		}
		json_object_array_add(threads, t);
	}
	json_object_object_add(doc, "threads", threads);
	fprintf(f, "%s\n",
		json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN));
	json_object_put(doc);
}

/* Folded stacks, outermost frame first, one line per distinct stack. */
static void print_folded(FILE *f, const struct sb_hot_report *r)
{
	char name[256];
	int i, g, k;

	for (i = 0; i < r->nthreads; i++) {
		const struct sb_hot_thread *t = &r->threads[i];

		for (g = 0; t->hot && g < t->ngroups; g++) {
			const struct sb_hot_group *gr = &t->groups[g];

			fprintf(f, "%s", t->name);
			for (k = gr->nframes - 1; k >= 0; k--)
				fprintf(f, ";%s",
					sb_report_frame_name(&gr->frames[k].sym,
							     name,
							     sizeof(name)));
			fprintf(f, " %d\n", gr->count);
		}
	}
}

/* Batch: sleep, but let Ctrl-C end the window at once. */
static bool batch_wait(void *ctx, int ms)
{
	uint64_t until = sb_now_ns() + (uint64_t)ms * 1000000u;

	(void)ctx;
	while (!interrupted) {
		uint64_t now = sb_now_ns();
		struct timespec ts;

		if (now >= until)
			break;
		ts.tv_sec = (time_t)((until - now) / 1000000000u);
		ts.tv_nsec = (long)((until - now) % 1000000000u);
		nanosleep(&ts, NULL); /* EINTR on a signal: no SA_RESTART */
	}
	return interrupted != 0;
}

/* The live view: like top, refreshed every window; q quits. */
static bool live_wait(void *ctx, int ms)
{
	(void)ctx;
	timeout(ms);
	for (;;) {
		int ch = getch();

		if (interrupted || ch == 'q' || ch == 'Q')
			return true;
		if (ch == ERR)
			return false;
		if (ch == KEY_RESIZE)
			continue;
	}
}

static void live_draw(const struct sb_hot_report *r)
{
	char *buf = NULL, *line, *next;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	const char *nc = getenv("NO_COLOR");
	bool bold = !(nc && *nc);
	int y = 0;

	if (!mem)
		return;
	print_text(mem, r, LINES > 30 ? LINES - 16 : 12, false);
	fclose(mem);
	erase();
	for (line = buf; line && *line && y < LINES - 1; line = next, y++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (y == 0 && bold)
			attron(A_BOLD);
		mvaddnstr(y, 0, line, COLS);
		if (y == 0 && bold)
			attroff(A_BOLD);
	}
	mvaddstr(LINES - 1, 0, "q quits");
	refresh();
	free(buf);
}

/* Say on stderr what made a window incomplete; true if anything did. */
static bool report_trouble(const struct sb_hot_report *r)
{
	static bool said_access;

	if (r->err_ptrace && !said_access) {
		said_access = true;
		warnx("cannot %s of process %d: permission denied: %s",
		      r->err_ptrace == -EACCES ? "read the stacks" :
						 "stop the threads",
		      (int)r->pid, sb_attach_explain(r->pid));
	}
	if (r->exited)
		warnx("process %d exited during the measurement", (int)r->pid);
	if (r->interrupted && !r->exited)
		warnx("interrupted: the last window is incomplete");
	return r->err_ptrace || r->exited || r->interrupted;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.interval_s = 1.0, .count = 1, .max_hot = 3, .samples = 20
	};
	struct sb_hot_opts ho = SB_HOT_OPTS_DEFAULT;
	struct sb_hot_report rep;
	struct sb_hot *h;
	bool live, trouble = false, last;
	long i;
	pid_t pid;
	int rc;

	parse_opts(argc, argv, &o);
	setlocale(LC_ALL, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") == 0)
		arrow = "\u2190";
	sb_attach_install_signals(&interrupted);
	live = !o.batch && !o.json && !o.folded && isatty(STDOUT_FILENO);
	if (live && !o.count_set)
		o.count = 0;
	pid = resolve_target(&o);
	if (interrupted)
		errx(EXIT_TROUBLE, "interrupted before measuring");
	rc = sb_hot_open(pid, &h);
	if (rc == -ESRCH)
		errx(EXIT_TROUBLE, "no process %d", (int)pid);
	if (rc == -EACCES || rc == -EPERM)
		errx(EXIT_TROUBLE,
		     "cannot read process %d: permission denied: %s", (int)pid,
		     sb_attach_explain(pid));
	if (rc)
		errx(EXIT_TROUBLE, "cannot examine process %d: %s", (int)pid,
		     strerror(-rc));
	ho.interval_s = o.interval_s;
	ho.max_hot = o.max_hot;
	ho.samples = o.samples;
	ho.arrow = arrow;
	ho.wait = batch_wait;
	if (live) {
		initscr();
		cbreak();
		noecho();
		keypad(stdscr, TRUE);
		curs_set(0);
		ho.wait = live_wait;
		mvaddstr(0, 0, "hotthread: measuring...");
		refresh();
	}
	for (i = 0; (o.count == 0 || i < o.count) && !interrupted; i++) {
		rc = sb_hot_measure(h, &ho, &rep);
		if (rc) {
			if (live)
				endwin();
			if (rc == -ESRCH)
				errx(EXIT_TROUBLE,
				     "process %d exited during the measurement",
				     (int)pid);
			errx(EXIT_TROUBLE, "cannot measure process %d: %s",
			     (int)pid, strerror(-rc));
		}
		last = (o.count && i + 1 == o.count) || rep.exited ||
		       rep.interrupted;
		if (live && rep.interrupted) {
			/* q or Ctrl-C: how one leaves a live view. */
		} else if (live && !last) {
			live_draw(&rep);
		} else if (live) {
			/* Leave the last window on the screen, as text. */
			endwin();
			live = false;
			print_text(stdout, &rep, TEXT_ROWS, false);
			trouble |= report_trouble(&rep);
		} else {
			if (o.json)
				print_json(stdout, &rep, &o);
			else if (o.folded)
				print_folded(stdout, &rep);
			else
				print_text(stdout, &rep, TEXT_ROWS,
					   sb_report_use_color(stdout));
			if (!o.json && !o.folded && !last)
				putchar('\n');
			trouble |= report_trouble(&rep);
		}
		fflush(stdout);
		sb_hot_report_free(&rep);
		if (last)
			break;
	}
	if (live)
		endwin();
	sb_hot_close(h);
	if (fflush(stdout) || ferror(stdout))
		err(EXIT_TROUBLE, "write error on standard output");
	return trouble ? EXIT_TROUBLE : 0;
}
