#!/bin/bash
# bench/run.sh: hotthread side by side with eu-stack and gdb on one target of
# 1001 threads (3 spinning, the rest blocked).  `make bench` runs it with
# SB_BIN, SB_TESTPROGS and SB_TOP set; `bash bench/run.sh` works too (it
# builds with make when something is missing).
#
# For every command and every repetition: wall time, CPU time (user+sys of
# the tool and its children), peak RSS, how long the spinning threads were
# stopped (each spinner measures itself: Δwall − Δthread CPU − Δrun-queue
# wait, reset and read with SIGUSR1), and whether the output shows
# spin_inner <- spin_middle <- spin_outer for every spinner.  Medians go to
# stdout and bench/results/summary.md; every run is in results/runs.tsv and
# every tool output under results/out/.
#
# A benchmark, not a test: it reports numbers and ratios and never fails on
# slowness.  It fails (exit 1) only when a tool crashes (dies of a signal)
# or the target dies.
#
# Knobs (environment): SB_BENCH_REPS (5), SB_BENCH_THREADS (1000 threads
# besides main), SB_BENCH_TIMEOUT (seconds per tool run, 300),
# SB_BENCH_RESULTS (bench/results).
set -u
export LC_ALL=C
# No tool may go to the network for debuginfo.
unset DEBUGINFOD_URLS

HERE=$(cd "$(dirname "$0")" && pwd)
: "${SB_TOP:=$(cd "$HERE/.." && pwd)}"
: "${SB_BIN:=$SB_TOP/build/bin}"
: "${SB_TESTPROGS:=$SB_TOP/build/testprogs}"
REPS=${SB_BENCH_REPS:-5}
NTHREADS=${SB_BENCH_THREADS:-1000}
NSPIN=3
TMO=${SB_BENCH_TIMEOUT:-300}
RES=${SB_BENCH_RESULTS:-$HERE/results}
HT=$SB_BIN/hotthread
TARGET=$SB_TESTPROGS/spin-many
# hotthread's short window: the window (-d) is waited out, not worked.
SHORT_D=0.3
SHORT_S=5
DEFAULT_D=1

say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench: $*"
	exit 1
}

# --- what we need --------------------------------------------------------

if [ ! -x "$HT" ] || [ ! -x "$TARGET" ]; then
	say "bench: building ($HT or $TARGET missing)"
	make -C "$SB_TOP" >&2 || say "bench: make failed; going on if the programs exist"
fi
[ -x "$HT" ] || die "no $HT"
[ -x "$TARGET" ] || die "no $TARGET"
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time, package time)"

# Install a missing Debian package when we can; otherwise go without.
need() { # need <command> <package>
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "bench: installing $2 (for $1)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" \
			>/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install \
					-y -qq "$2" >/dev/null 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1 && return 0
	say "bench: $1 not available (package $2): skipped"
	return 1
}
HAVE_EU=0 HAVE_GDB=0 HAVE_STRACE=0
need eu-stack elfutils && HAVE_EU=1
need gdb gdb && HAVE_GDB=1
need strace strace && HAVE_STRACE=1
HAVE_JQ=0
command -v jq >/dev/null 2>&1 && HAVE_JQ=1

mkdir -p "$RES" || die "cannot create $RES"
rm -rf "$RES/out"
mkdir -p "$RES/out"
RAW=$RES/runs.tsv
SUM=$RES/summary.md
TPID="" TMP=""
cleanup() {
	if [ -n "$TPID" ]; then
		kill -CONT "$TPID" 2>/dev/null
		kill -KILL "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sickbay-bench.XXXXXX") || die "mktemp"
# Run copies: a rebuild of build/ during the bench (others share it) would
# otherwise swap the binaries under us, and a target whose executable was
# replaced leaves eu-stack and gdb without its symbols.
mkdir -p "$TMP/bin"
cp "$HT" "$TMP/bin/hotthread" && cp "$TARGET" "$TMP/bin/spin-many" ||
	die "cannot copy the binaries to $TMP"
HT_SRC=$HT
HT=$TMP/bin/hotthread
TARGET=$TMP/bin/spin-many
# Which hotthread this was: the tree is shared and changes under us.
HT_WHAT="$(date -u -r "$HT_SRC" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null), sha256 $(sha256sum "$HT" | cut -c1-12)"
if git -C "$SB_TOP" rev-parse --short HEAD >/dev/null 2>&1; then
	HT_WHAT="$HT_WHAT, tree $(git -C "$SB_TOP" rev-parse --short HEAD)"
	[ -n "$(git -C "$SB_TOP" status --porcelain -- lib tools 2>/dev/null)" ] &&
		HT_WHAT="$HT_WHAT + uncommitted changes in lib/ or tools/"
fi

# --- the target ----------------------------------------------------------

TOUT=$TMP/target.out

target_alive() {
	[ -n "$TPID" ] && kill -0 "$TPID" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$TPID/status" 2>/dev/null
}

# Threads of the target left in a stopped state (T or t) by a tool.
stopped_threads() {
	cat /proc/"$TPID"/task/*/stat 2>/dev/null |
		awk '{ sub(/^.*\) /, ""); if ($1 == "T" || $1 == "t") n++ }
		     END { print n + 0 }'
}

# Ask the spinners for their stop time since the last ask; prints their
# NSPIN lines "spinner K tid=T stopped_ms=X max_stop_ms=Y".
spin_report() {
	local before need i=0
	before=$(grep -c '^spinner ' "$TOUT")
	need=$((before + NSPIN))
	kill -USR1 "$TPID" 2>/dev/null || die "target died"
	while [ "$(grep -c '^spinner ' "$TOUT")" -lt "$need" ]; do
		target_alive || die "target died"
		i=$((i + 1))
		[ "$i" -gt 2400 ] && die "no spinner report after 120 s"
		sleep 0.05
	done
	grep '^spinner ' "$TOUT" | sed -n "$((before + 1)),${need}p"
}

say "bench: starting $TARGET $NTHREADS $NSPIN"
"$TARGET" "$NTHREADS" "$NSPIN" >"$TOUT" 2>&1 &
TPID=$!
i=0
until grep -q '^ready pid=' "$TOUT"; do
	kill -0 "$TPID" 2>/dev/null || die "target exited: $(cat "$TOUT")"
	i=$((i + 1))
	[ "$i" -gt 6000 ] && die "target not ready after 600 s"
	sleep 0.1
done
RPID=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$TOUT" | head -n 1)
[ "$RPID" = "$TPID" ] || die "target says pid $RPID, started $TPID"
NTASKS=$(ls /proc/"$TPID"/task | wc -l)
SPIN_TIDS=$(spin_report | sed -n 's/.*tid=\([0-9]*\).*/\1/p' | tr '\n' ' ')
SPIN_TIDS=${SPIN_TIDS% }
[ -n "$SPIN_TIDS" ] || die "no spinner report from the target"
say "bench: target pid $TPID, $NTASKS threads, spinners $SPIN_TIDS"

# --- the commands --------------------------------------------------------

IDS="ht-short ht-default"
[ "$HAVE_EU" = 1 ] && IDS="$IDS eu-stack"
[ "$HAVE_GDB" = 1 ] && IDS="$IDS gdb"
IDS="$IDS ht-short-json ht-default-json idle"

# Sets CMD to the command line of a benchmark id, for pid $2.
set_cmd() {
	case $1 in
	ht-short) CMD=("$HT" -b -d "$SHORT_D" -s "$SHORT_S" -p "$2") ;;
	ht-default) CMD=("$HT" -b -p "$2") ;;
	ht-short-json) CMD=("$HT" -j -d "$SHORT_D" -s "$SHORT_S" -p "$2") ;;
	ht-default-json) CMD=("$HT" -j -p "$2") ;;
	eu-stack) CMD=(eu-stack -p "$2") ;;
	gdb) CMD=(gdb -p "$2" -batch -iex 'set debuginfod enabled off'
		-ex 'thread apply all bt') ;;
	idle) CMD=(sleep "$SHORT_D") ;;
	esac
}

label() {
	case $1 in
	ht-short) echo "hotthread -b -d $SHORT_D -s $SHORT_S -p PID" ;;
	ht-default) echo "hotthread -b -p PID (${DEFAULT_D} s, 20 samples)" ;;
	ht-short-json) echo "hotthread -j -d $SHORT_D -s $SHORT_S -p PID" ;;
	ht-default-json) echo "hotthread -j -p PID" ;;
	eu-stack) echo "eu-stack -p PID" ;;
	gdb) echo "gdb -p PID -batch -ex 'thread apply all bt'" ;;
	idle) echo "nothing attached (sleep $SHORT_D)" ;;
	esac
}

# Render hotthread's JSON as its text's thread sections, for stacks.awk.
json_as_text() {
	jq -r '.threads[] | select(.hot) |
		"thread \(.tid) '"'"'\(.name)'"'"': \(.stopped_ms // 0) ms",
		((.samples // [])[] |
			"  \([.stack[] | (.function // "?")] | join(" <- "))")' \
		"$1" 2>/dev/null
}

# Sum of the figure `field` ("stopped_ms") over the spinners in a JSON
# report.
json_spin_sum() {
	jq -r --arg tids "$SPIN_TIDS" '
		($tids | split(" ") | map(tonumber)) as $t |
		[.threads[] | select(.tid as $x | $t | index($x)) |
			(.stopped_ms // 0)] | add // 0' "$1" 2>/dev/null
}

CRASHES=0
printf 'id\trep\twall_s\tuser_s\tsys_s\tcpu_s\tmaxrss_kb\trc\tsp_mean_ms\tsp_worst_ms\tsp_longest_ms\tsp_sum_ms\tchains\twaiters\tblocks\tothers\ttool_target_ms\ttool_stops\ttool_longest_ms\ttool_spinsum_ms\tleft_stopped\tstops_per_spinner\tsp_per_stop_ms\n' >"$RAW"

# measure <id> <rep>: one timed run with the spinners' stop time around it.
measure() {
	local id=$1 rep=$2 out err tf t0 t1 rc sp chk mode
	local wall user sys cpu rss tt ts tl tsum left nstops per sp_sum
	out=$RES/out/$id.$rep.txt
	err=$RES/out/$id.$rep.err
	tf=$TMP/time
	set_cmd "$id" "$TPID"
	spin_report >/dev/null
	t0=$(date +%s%N)
	/usr/bin/time -f '%U %S %M' -o "$tf" \
		timeout -k 5 "$TMO" "${CMD[@]}" >"$out" 2>"$err"
	rc=$?
	t1=$(date +%s%N)
	target_alive || die "target died during $id (run $rep)"
	left=$(stopped_threads)
	if [ "$left" != 0 ]; then
		say "bench: $id left $left threads stopped; continuing them"
		kill -CONT "$TPID"
		sleep 0.2
	fi
	sp=$(spin_report)
	[ -n "$sp" ] || die "no spinner report after $id (run $rep)"
	printf '%s\n' "$sp" >"$RES/out/$id.$rep.spinners"
	if [ "$rc" = 124 ] || { [ "$rc" = 137 ] &&
		[ $(((t1 - t0) / 1000000000)) -ge "$TMO" ]; }; then
		# timeout: TERM at the bound (124), KILL 5 s later (137)
		say "bench: $id (run $rep) timed out after $TMO s"
	elif [ "$rc" -ge 128 ]; then
		say "bench: $id (run $rep) crashed (status $rc): $(tail -n 3 "$err")"
		CRASHES=$((CRASHES + 1))
	elif [ "$rc" != 0 ]; then
		say "bench: $id (run $rep) exited with status $rc"
	fi
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	read -r user sys rss < <(tail -n 1 "$tf")
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	# The spinners: mean and worst total stop, longest single stop, sum.
	sp=$(printf '%s\n' "$sp" | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "stopped_ms") s = kv[2] + 0
			if (kv[1] == "max_stop_ms") m = kv[2] + 0
		}
		n++; sum += s; if (s > w) w = s; if (m > l) l = m
	} END { printf "%.2f\t%.2f\t%.2f\t%.2f", sum / n, w, l, sum }')
	tt=- ts=- tl=- tsum=-
	case $id in
	ht-*json)
		if [ "$HAVE_JQ" = 1 ]; then
			chk=$(json_as_text "$out" |
				awk -v mode=hotthread -v tids="$SPIN_TIDS" \
					-f "$HERE/stacks.awk")
			tt=$(jq -r '.target_stopped_ms' "$out" 2>/dev/null)
			ts=$(jq -r '.stops' "$out" 2>/dev/null)
			tl=$(jq -r '.max_stop_ms' "$out" 2>/dev/null)
			tsum=$(json_spin_sum "$out")
		else
			chk="chains=- waiters=- blocks=- others=-"
		fi
		;;
	ht-*)
		chk=$(awk -v mode=hotthread -v tids="$SPIN_TIDS" \
			-f "$HERE/stacks.awk" "$out")
		# "target stopped X ms [in all] (N stops, longest Y ms)"
		tt=$(sed -n 's/.*target stopped \([0-9.]*\) ms[^(]*(\([0-9]*\) stops, longest \([0-9.]*\) ms).*/\1/p' "$out" | head -n 1)
		ts=$(sed -n 's/.*target stopped \([0-9.]*\) ms[^(]*(\([0-9]*\) stops, longest \([0-9.]*\) ms).*/\2/p' "$out" | head -n 1)
		tl=$(sed -n 's/.*target stopped \([0-9.]*\) ms[^(]*(\([0-9]*\) stops, longest \([0-9.]*\) ms).*/\3/p' "$out" | head -n 1)
		# "thread TID 'NAME': N samples, stopped X ms in all, ..."
		tsum=$(awk -v tids="$SPIN_TIDS" '
			BEGIN { n = split(tids, t, " "); for (i = 1; i <= n; i++) sp[t[i]] = 1 }
			/^thread [0-9]+ .*: [0-9]+ samples, stopped / && ($2 in sp) {
				for (i = 1; i < NF; i++) if ($i == "stopped") s += $(i + 1)
			} END { printf "%.2f", s + 0 }' "$out")
		;;
	eu-stack | gdb)
		mode=$id
		chk=$(awk -v mode="$mode" -v tids="$SPIN_TIDS" \
			-f "$HERE/stacks.awk" "$out")
		;;
	*) chk="chains=- waiters=- blocks=- others=-" ;;
	esac
	[ -n "$tt" ] || tt=-
	[ -n "$ts" ] || ts=-
	[ -n "$tl" ] || tl=-
	[ -n "$tsum" ] || tsum=-
	chk=$(printf '%s\n' "$chk" | sed 's/[a-z]*=//g' | tr ' ' '\t')
	sp_sum=$(printf '%s' "$sp" | cut -f4)
	sp=$(printf '%s' "$sp" | cut -f1-3)
	# Stops each spinner took: hotthread says how many (all candidates,
	# which strace shows are the spinners); eu-stack and gdb stop once.
	case $id in
	ht-*) nstops=$(awk -v s="$ts" -v n="$NSPIN" \
		'BEGIN { print (s == "-" ? "-" : s / n) }') ;;
	eu-stack | gdb) nstops=1 ;;
	*) nstops=- ;;
	esac
	per=$(awk -v m="$(printf '%s' "$sp" | cut -f1)" -v n="$nstops" \
		'BEGIN { if (n == "-" || n + 0 == 0) print "-"; else printf "%.2f", m / n }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$id" "$rep" "$wall" "$user" "$sys" "$cpu" "$rss" "$rc" "$sp" \
		"$sp_sum" "$chk" "$tt" "$ts" "$tl" "$tsum" "$left" "$nstops" \
		"$per" >>"$RAW"
	say "bench: run $rep $id: wall ${wall} s, cpu ${cpu} s, rss ${rss} KB, spinners (mean, worst, longest ms) $(printf '%s' "$sp" | tr '\t' ' ')"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
set -- $IDS
NIDS=$#
for rep in $(seq 1 "$REPS"); do
	# Rotate the order each repetition so drift hits every command alike.
	shift_by=$(((rep - 1) % NIDS))
	order=$(printf '%s\n' $IDS | awk -v s="$shift_by" -v n="$NIDS" '
		{ a[NR - 1] = $0 } END { for (i = 0; i < n; i++) print a[(i + s) % n] }')
	for id in $order; do
		measure "$id" "$rep"
	done
done

# --- idle threads never stopped: which TIDs does hotthread seize? ---------

SEIZE_SHORT=- SEIZE_DEFAULT=- SEIZE_OK_SHORT=- SEIZE_OK_DEFAULT=-
seized() { # seized <id> -> "distinct-count all-spinners?(yes/no)"
	local f=$RES/out/strace.$1.txt n=0 ok try=0
	set_cmd "$1" "$TPID"
	# A run that samples nothing (no thread looked hot in the probe, as
	# under heavy load from elsewhere) proves nothing: try up to 3 times.
	while [ "$n" = 0 ] && [ "$try" -lt 3 ]; do
		try=$((try + 1))
		strace -f -qq -e trace=ptrace -o "$f" "${CMD[@]}" \
			>"$RES/out/strace.$1.out" 2>&1
		target_alive || die "target died under strace + $1"
		grep -o 'PTRACE_SEIZE, [0-9]*' "$f" | awk '{ print $2 }' |
			sort -u >"$TMP/seized"
		n=$(wc -l <"$TMP/seized")
	done
	ok=yes
	while read -r t; do
		case " $SPIN_TIDS " in
		*" $t "*) ;;
		*) ok=no ;;
		esac
	done <"$TMP/seized"
	echo "$n $ok"
}
if [ "$HAVE_STRACE" = 1 ]; then
	read -r SEIZE_SHORT SEIZE_OK_SHORT < <(seized ht-short)
	read -r SEIZE_DEFAULT SEIZE_OK_DEFAULT < <(seized ht-default)
	say "bench: strace: hotthread seized $SEIZE_SHORT distinct TIDs (-d $SHORT_D), $SEIZE_DEFAULT (default); only spinners: $SEIZE_OK_SHORT / $SEIZE_OK_DEFAULT"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))

# --- the summary ---------------------------------------------------------

# stats <id> <column name>: "median min max" over the runs of id.
stats() {
	local c
	c=$(head -n 1 "$RAW" | tr '\t' '\n' | grep -nx "$2" | cut -d: -f1)
	awk -F'\t' -v id="$1" -v c="$c" \
		'NR > 1 && $1 == id && $c != "-" && $c != "" { print $c }' "$RAW" |
		sort -g | awk '{ a[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			print m, a[1], a[NR]
		}'
}
med() { stats "$1" "$2" | cut -d' ' -f1; }
# fmt <printf format> <value>: "-" stays "-".
fmt() { case $2 in -) echo - ;; *) printf "$1" "$2" ;; esac; }
# range <id> <col> <format>: "median (min–max)"
range() {
	local m lo hi
	read -r m lo hi < <(stats "$1" "$2")
	[ "$m" = - ] && { echo -; return; }
	printf "$3 ($3–$3)" "$m" "$lo" "$hi"
}
ratio() { # ratio <a> <b>: a/b as "0.12×"
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) { print "n/a"; exit }
		r = a / b
		if (r >= 10) { printf "%.0f×", r; exit }
		if (r >= 0.1) { printf "%.2f×", r; exit }
		# two significant digits: 0.093×, 0.00017×
		d = 2; for (x = r; x < 0.1 && d < 9; x *= 10) d++
		printf "%." d "f×", r }'
}
nruns() { awk -F'\t' -v id="$1" 'NR > 1 && $1 == id' "$RAW" | wc -l; }
# chains: "3/3 in R/R runs" from the worst run
chains() {
	local lo n all
	n=$(nruns "$1")
	lo=$(stats "$1" chains | cut -d' ' -f2)
	[ "$lo" = - ] && { echo -; return; }
	all=$(awk -F'\t' -v id="$1" -v k="$NSPIN" \
		'NR > 1 && $1 == id && $13 == k' "$RAW" | wc -l)
	if [ "$all" = "$n" ]; then
		echo "$NSPIN/$NSPIN in all $n runs"
	else
		echo "$NSPIN/$NSPIN in $all of $n runs (worst $lo/$NSPIN)"
	fi
}
what_stops() {
	case $1 in
	ht-*) echo "hot threads only, per sample" ;;
	eu-stack) echo "every thread, one at a time" ;;
	gdb) echo "whole process, attach to detach" ;;
	idle) echo "nothing" ;;
	esac
}

{
	echo "# hotthread vs eu-stack vs gdb: $NTASKS-thread target"
	echo
	echo "Target: \`spin-many $NTHREADS $NSPIN\` (a copy of $SB_TESTPROGS/spin-many) ($NTASKS threads: $NSPIN spinners" \
		"hotspin-0..$((NSPIN - 1)) in spin_outer→spin_middle→spin_inner, one" \
		"reporter, the rest in pthread_cond_wait under blocked_wait)." \
		"$(nproc) CPUs, load average $LOAD_BEFORE before, $LOAD_AFTER after;" \
		"kernel $(uname -r); $REPS runs of each command, order rotated per" \
		"run; the bench took ${ELAPSED} s. Figures are medians, (min–max)" \
		"over the runs where shown."
	echo
	echo "hotthread binary: built $HT_WHAT. Tools: $(eu-stack --version 2>/dev/null | head -n 1 | sed 's/^eu-stack //'), $(gdb --version 2>/dev/null | head -n 1)."
	echo
	echo "- spinner stopped: each spinner measures itself (Δwall − Δthread" \
		"CPU − Δrun-queue wait, reset and read with SIGUSR1 around the" \
		"run); mean over the $NSPIN spinners of each one's total stop in the run."
	echo "- per stop: that total ÷ the stops each spinner took (hotthread:" \
		"its reported stops ÷ $NSPIN = samples; eu-stack and gdb: 1)."
	echo "- longest stop: the spinners' own longest single gap. Under CPU" \
		"contention it also catches a run-queue wait that falls between" \
		"the spinner's clock reads (see the \"nothing attached\" row), so" \
		"it is an upper bound; hotthread's own longest stop is in the" \
		"second table."
	echo "- CPU = user+sys of the tool; chains = spinners whose stack shows" \
		"spin_inner←spin_middle←spin_outer; waiters = threads shown in" \
		"blocked_wait ($((NTASKS - NSPIN - 2)) exist)."
	echo
	echo "| command | wall s | CPU s | peak RSS KB | spinner stopped ms | stops per spinner | ms per stop | longest stop ms | what is stopped | chains | waiters shown | runs |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
	for id in ht-short ht-default eu-stack gdb idle; do
		[ "$(nruns "$id")" = 0 ] && continue
		echo "| \`$(label "$id")\` | $(range "$id" wall_s %.2f) |" \
			"$(range "$id" cpu_s %.2f) | $(fmt %.0f "$(med "$id" maxrss_kb)") |" \
			"$(range "$id" sp_mean_ms %.1f) | $(fmt %.0f "$(med "$id" stops_per_spinner)") |" \
			"$(fmt %.2f "$(med "$id" sp_per_stop_ms)") |" \
			"$(range "$id" sp_longest_ms %.1f) |" \
			"$(what_stops "$id") | $(chains "$id") |" \
			"$(fmt %.0f "$(med "$id" waiters)") | $(nruns "$id") |"
	done
	bad=$(awk -F'\t' 'NR > 1 && $8 != 0 { n[$1]++; rc[$1] = rc[$1] " " $8 }
		END { for (k in n) printf "- `%s`: %d run(s) exited with status%s (124: timed out, over 128: killed by a signal)\n", k, n[k], rc[k] }' "$RAW")
	if [ -n "$bad" ]; then
		echo
		echo "**Failed runs** (outputs in out/):"
		echo
		echo "$bad"
	fi
	echo
	echo "## Ratios (medians; hotthread ÷ the other tool; below 1: hotthread better)"
	echo
	echo "| hotthread | vs | wall | CPU | peak RSS | spinner stopped (total) | ms per stop |"
	echo "|---|---|---|---|---|---|---|"
	for h in ht-short ht-default; do
		for a in eu-stack gdb; do
			[ "$(nruns "$a")" = 0 ] && continue
			echo "| \`$(label "$h")\` | $a |" \
				"$(ratio "$(med "$h" wall_s)" "$(med "$a" wall_s)") |" \
				"$(ratio "$(med "$h" cpu_s)" "$(med "$a" cpu_s)") |" \
				"$(ratio "$(med "$h" maxrss_kb)" "$(med "$a" maxrss_kb)") |" \
				"$(ratio "$(med "$h" sp_mean_ms)" "$(med "$a" sp_mean_ms)") |" \
				"$(ratio "$(med "$h" sp_per_stop_ms)" "$(med "$a" sp_per_stop_ms)") |"
		done
	done
	echo
	for h in ht-short ht-default; do
		if [ "$h" = ht-short ]; then win=$SHORT_D; else win=$DEFAULT_D; fi
		line="- \`$(label "$h")\`:"
		for a in eu-stack gdb; do
			[ "$(nruns "$a")" = 0 ] && continue
			line="$line wall $(ratio "$(med "$h" wall_s)" "$(med "$a" wall_s)") $a's, CPU $(ratio "$(med "$h" cpu_s)" "$(med "$a" cpu_s)") $a's, spinners stopped $(ratio "$(med "$h" sp_mean_ms)" "$(med "$a" sp_mean_ms)") as long as by $a;"
		done
		echo "$line of its $(fmt %.2f "$(med "$h" wall_s)") s wall," \
			"$win s is the measuring window it waits out (-d), the other" \
			"$(awk -v w="$(med "$h" wall_s)" -v d="$win" \
				'BEGIN { printf "%.2f", w - d }') s are work (start, three" \
			"passes over $NTASKS threads' /proc files, stopping and" \
			"unwinding the hot threads, symbols and source lines, output)" \
			"and waiting for a CPU ($(fmt %.2f "$(med "$h" cpu_s)") s CPU)."
	done
	echo
	echo "## hotthread's own account of its stops vs the spinners'"
	echo
	echo "Tool figures from its report: the text header (\`-b\`) and the JSON" \
		"\`target_stopped_ms\` / \`max_stop_ms\` / \`stops\` (\`-j\`); Σ" \
		"stopped_ms = its per-thread stopped ms summed over the $NSPIN" \
		"spinners, next to the sum the spinners measured. hotthread times" \
		"a stop from when it sees it (waitpid) to its PTRACE_DETACH; the" \
		"spinners from when they stop to when they may run again, so" \
		"their figure also holds the time hotthread itself waits for a" \
		"CPU while a thread is stopped."
	echo
	echo "| command | target_stopped_ms | Σ stopped_ms (tool) | Σ stopped ms (spinners) | max_stop_ms (tool) | longest stop ms (spinners) | stops | wall s | CPU s | chains | runs |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for id in ht-short ht-short-json ht-default ht-default-json; do
		[ "$(nruns "$id")" = 0 ] && continue
		echo "| \`$(label "$id")\` | $(range "$id" tool_target_ms %.1f) |" \
			"$(range "$id" tool_spinsum_ms %.1f) | $(range "$id" sp_sum_ms %.1f) |" \
			"$(range "$id" tool_longest_ms %.2f) | $(range "$id" sp_longest_ms %.2f) |" \
			"$(fmt %.0f "$(med "$id" tool_stops)") | $(fmt %.2f "$(med "$id" wall_s)") |" \
			"$(fmt %.2f "$(med "$id" cpu_s)") | $(chains "$id") | $(nruns "$id") |"
	done
	echo
	echo "## The issue's targets (reported, not enforced)"
	echo
	echo "| target | measured | met |"
	echo "|---|---|---|"
	met() { awk -v v="$1" -v b="$2" 'BEGIN { print (v != "-" && v + 0 <= b + 0) ? "yes" : "no" }'; }
	worst() { stats "$1" "$2" | cut -d' ' -f3; }
	w=$(med ht-short wall_s)
	c=$(med ht-short cpu_s)
	echo "| stacks of the hot threads in ≤ 0.5 s wall (\`-d $SHORT_D\`) | $(fmt %.2f "$w") s | $(met "$w" 0.5) |"
	echo "| ≤ 0.1 s CPU (\`-d $SHORT_D\`) | $(fmt %.2f "$c") s | $(met "$c" 0.1) |"
	for h in ht-short ht-default; do
		p=$(med "$h" sp_per_stop_ms)
		tl=$(med "$h" tool_longest_ms)
		tlx=$(worst "$h" tool_longest_ms)
		sl=$(med "$h" sp_longest_ms)
		slx=$(worst "$h" sp_longest_ms)
		echo "| each hot thread stopped ≤ 5 ms per sample (\`$(label "$h")\`) |" \
			"$(fmt %.2f "$p") ms per stop (spinners' total ÷ stops);" \
			"longest stop by hotthread's clock $(fmt %.2f "$tl") ms" \
			"(worst run $(fmt %.2f "$tlx") ms); spinners' longest gap" \
			"$(fmt %.2f "$sl") ms (worst run $(fmt %.2f "$slx") ms, an upper bound) |" \
			"on average $(met "$p" 5); longest by hotthread $(met "$tl" 5)" \
			"(worst run $(met "$tlx" 5)); by the spinners $(met "$sl" 5)" \
			"(worst run $(met "$slx" 5)) |"
	done
	if [ "$SEIZE_SHORT" != - ]; then
		okall=no
		[ "$SEIZE_OK_SHORT" = yes ] && [ "$SEIZE_OK_DEFAULT" = yes ] &&
			[ "$SEIZE_SHORT" -le "$NSPIN" ] &&
			[ "$SEIZE_DEFAULT" -le "$NSPIN" ] && okall=yes
		[ "$SEIZE_SHORT" = 0 ] || [ "$SEIZE_DEFAULT" = 0 ] &&
			okall="not shown: a run stopped no thread at all (3 tries)"
		echo "| idle threads never stopped (strace: distinct TIDs given to" \
			"PTRACE_SEIZE, one run each) | $SEIZE_SHORT (\`-d $SHORT_D\`)," \
			"$SEIZE_DEFAULT (default), of $NTASKS threads; all of them" \
			"spinners: $SEIZE_OK_SHORT / $SEIZE_OK_DEFAULT | $okall |"
	else
		echo "| idle threads never stopped | strace not available | - |"
	fi
	echo
	echo "Raw runs: \`${RES#"$SB_TOP"/}/runs.tsv\`; tool outputs and" \
		"spinner reports: \`${RES#"$SB_TOP"/}/out/\`."
} >"$SUM"
cat "$SUM"
cleanup; TPID="" TMP=""; SB_TOP=$SB_TOP SB_BIN=$SB_BIN SB_TESTPROGS=$SB_TESTPROGS SB_BENCH_RESULTS=$RES bash "$HERE/corepeek.sh" || CRASHES=$((CRASHES + 1)) # corepeek on cores (the spinning target stopped first)
SB_TOP=$SB_TOP SB_BIN=$SB_BIN SB_TESTPROGS=$SB_TESTPROGS SB_BENCH_RESULTS=$RES bash "$HERE/leakwatch.sh" || CRASHES=$((CRASHES + 1)) # leakwatch: a sample on 1000 threads, the heap census of 1 GiB
SB_TOP=$SB_TOP SB_BIN=$SB_BIN SB_TESTPROGS=$SB_TESTPROGS SB_BENCH_RESULTS=$RES bash "$HERE/lockgraph.sh" || CRASHES=$((CRASHES + 1)) # lockgraph: deadlocks of 100 and 1000 threads

if [ "$CRASHES" != 0 ]; then
	say "bench: $CRASHES tool run(s) crashed"
	exit 1
fi
exit 0
