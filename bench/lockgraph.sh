#!/bin/bash
# bench/lockgraph.sh: lockgraph's verdict on a hung process of 100 and of
# 1000 threads, side by side with gdb running a script that reads the same
# mutex owners.  bench/run.sh runs it (`make bench`); `bash
# bench/lockgraph.sh` works alone too (it builds with make when lockgraph
# is missing).
#
# The target, bench/hung-many.c, built here with cc into a temporary
# directory (not by the Makefile): N threads in all, main included (main
# sleeps in pause()); "transfer" and "audit" deadlocked ABBA on the global
# mutexes accounts_lock and ledger_lock, as in testprogs/deadlock-abba;
# of the other N - 3, half ("acct-K") wait in pthread_mutex_lock on
# accounts_lock, held by transfer, the rest ("idle-K") in pthread_cond_wait
# on idle_cond.  64 KiB thread stacks.  It says "ready pid=P" once every
# thread but main sleeps in futex() on its object.
#
# The commands, on each N of SB_BENCH_LOCK_THREADS:
#   lockgraph -p PID       text; exit 1 for a deadlock
#   lockgraph -j -p PID    JSON
#   gdb -p PID -batch -iex 'set debuginfod enabled off' -x owners.py
#       owners.py (written to results/lockgraph-out/): for every thread,
#       the futex word from $rdi in frame 0 when it is in futex() (orig_rax
#       202), and for a FUTEX_WAIT (a mutex) the mutex's __data.__owner and
#       the symbol the address falls in (`info symbol`)
#   the same gdb with -iex 'set debug-file-directory /nonexistent': gdb
#       without libc6-dbg's separate debug files, which it otherwise
#       reads (most of its time when they are installed)
#   true                   the timing harness alone
# lockgraph takes two looks 200 ms apart on purpose, so its wall time is
# also given less that fixed 0.2 s: the verdict work.  (It reads the maps,
# analyses its first look and loads the symbol tables it will need during
# that pause: the verdict work is its start, the first look, and all of
# the second; CPU counts everything.)
#
# For each run: wall (date around the run), CPU (user+sys of the reaped
# children, from bash's `times`, to the millisecond), peak RSS
# (/usr/bin/time %M), lockgraph's "blocked threads stopped X ms in all"
# (the text report), threads left stopped, and whether the answer is right:
#   lockgraph text: exit 1, "DEADLOCK: 2 threads wait for each other", the
#     cycle transfer -> ledger_lock held by audit, audit -> accounts_lock
#     held by transfer, with their TIDs;
#   lockgraph JSON: deadlocked, one cycle of those two edges, and every
#     blocked thread with the right lock and holder (N - 1 of them);
#   gdb: one line per thread, the two of the cycle and every acct-K with
#     the right mutex and owner, every idle-K on idle_cond.
# Medians over SB_BENCH_REPS runs, the order rotated each repetition.  Then,
# untimed, once per N: `strace -c -f` of lockgraph (where its system calls
# go), and, when perf works, the ptrace calls of one run traced with
# `perf record -e syscalls:sys_enter_ptrace` for how long the process was
# really stopped: first PTRACE_INTERRUPT to last PTRACE_DETACH.
#
# Results: bench/results/lockgraph.md (also printed), every run in
# results/lockgraph-runs.tsv, every output under results/lockgraph-out/.
#
# A benchmark, not a test: it reports numbers, ratios and the issue's
# target and never fails on slowness.  It fails (exit 1) only when a tool
# dies of a signal or gives a wrong answer, or the target cannot be made.
#
# Knobs (environment): SB_BENCH_REPS (5), SB_BENCH_LOCK_THREADS ("100
# 1000"), SB_BENCH_LOCK_TIMEOUT (seconds per tool run, 120),
# SB_BENCH_RESULTS (bench/results), CC (cc).
set -u
export LC_ALL=C
# No tool may go to the network for debuginfo.
unset DEBUGINFOD_URLS

HERE=$(cd "$(dirname "$0")" && pwd)
: "${SB_TOP:=$(cd "$HERE/.." && pwd)}"
: "${SB_BIN:=$SB_TOP/build/bin}"
: "${SB_TESTPROGS:=$SB_TOP/build/testprogs}"
REPS=${SB_BENCH_REPS:-5}
NS=${SB_BENCH_LOCK_THREADS:-100 1000}
TMO=${SB_BENCH_LOCK_TIMEOUT:-120}
RES=${SB_BENCH_RESULTS:-$HERE/results}
LG=$SB_BIN/lockgraph
SRC=$HERE/hung-many.c
# lockgraph's fixed pause between its two looks (SECOND_LOOK_MS).
LOOK_S=0.2

say() { printf '%s\n' "$*" >&2; }
die() {
	say "bench lockgraph: $*"
	exit 1
}

# --- what we need --------------------------------------------------------

if [ ! -x "$LG" ]; then
	say "bench lockgraph: building ($LG missing)"
	make -C "$SB_TOP" >&2 || say "bench lockgraph: make failed; going on if lockgraph exists"
fi
[ -x "$LG" ] || die "no $LG"
[ -r "$SRC" ] || die "no $SRC"
[ -x /usr/bin/time ] || die "needs GNU time (/usr/bin/time, package time)"

# Install a missing Debian package when we can; otherwise go without.
need() { # need <command> <package>
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "bench lockgraph: installing $2 (for $1)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" \
			>/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install \
					-y -qq "$2" >/dev/null 2>&1; }
	fi
	command -v "$1" >/dev/null 2>&1 && return 0
	say "bench lockgraph: $1 not available (package $2): skipped"
	return 1
}
HAVE_GDB=0 HAVE_STRACE=0 HAVE_JQ=0 HAVE_PERF=0
need gdb gdb && HAVE_GDB=1
need strace strace && HAVE_STRACE=1
need jq jq && HAVE_JQ=1
command -v perf >/dev/null 2>&1 && HAVE_PERF=1

mkdir -p "$RES" || die "cannot create $RES"
OUTD=$RES/lockgraph-out
rm -rf "$OUTD"
mkdir -p "$OUTD"
RAW=$RES/lockgraph-runs.tsv
SUM=$RES/lockgraph.md
TPID="" TMP="" CPID=""
# Stops a measured run still going (its `timeout` passes the signal on to
# the tool's process group), then the target.
cleanup() {
	local k
	if [ -n "$CPID" ]; then
		for k in $(cat /proc/"$CPID"/task/*/children 2>/dev/null); do
			kill -TERM "$k" 2>/dev/null
		done
		kill -TERM "$CPID" 2>/dev/null
		wait "$CPID" 2>/dev/null
		CPID=""
	fi
	if [ -n "$TPID" ]; then
		kill -CONT "$TPID" 2>/dev/null
		kill -KILL "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
		TPID=""
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	TMP=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sickbay-bench-lock.XXXXXX") || die "mktemp"
mkdir -p "$TMP/bin"
# A copy of lockgraph: others rebuild build/ meanwhile.
cp "$LG" "$TMP/bin/lockgraph" || die "cannot copy $LG to $TMP"
LG_SRC=$LG
LG=$TMP/bin/lockgraph
LG_WHAT="$(date -u -r "$LG_SRC" '+%Y-%m-%d %H:%M:%S UTC' 2>/dev/null), sha256 $(sha256sum "$LG" | cut -c1-12)"
if git -C "$SB_TOP" rev-parse --short HEAD >/dev/null 2>&1; then
	LG_WHAT="$LG_WHAT, tree $(git -C "$SB_TOP" rev-parse --short HEAD)"
	[ -n "$(git -C "$SB_TOP" status --porcelain -- lib tools 2>/dev/null)" ] &&
		LG_WHAT="$LG_WHAT + uncommitted changes in lib/ or tools/"
fi
# The target, as the sick programs are built (-O0 -g, frame pointers).
TARGET=$TMP/bin/hung-many
${CC:-cc} -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -pthread -O0 -g \
	-fno-omit-frame-pointer -o "$TARGET" "$SRC" >"$OUTD/cc.log" 2>&1 ||
	die "cannot build $SRC: $(cat "$OUTD/cc.log")"

# The gdb script: what a person would write to see who holds what.
GDBPY=$OUTD/owners.py
cat >"$GDBPY" <<'EOF'
# For every thread: the futex word it sleeps on ($rdi in frame 0 while it
# is in futex(), syscall 202), and for a FUTEX_WAIT -- a mutex -- the
# mutex's __data.__owner, with the symbol the address falls in.
import gdb

FUTEX_WAIT = 0
CMD_MASK = ~(128 | 256)  # FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME

out = []
for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.ptid[1]):
    th.switch()
    tid = th.ptid[1]
    f = gdb.newest_frame()
    nr = int(f.read_register("orig_rax"))
    if nr != 202:
        out.append("thread %d '%s' not in futex (syscall %d)" % (tid, th.name, nr))
        continue
    addr = int(f.read_register("rdi")) & 0xFFFFFFFFFFFFFFFF
    op = int(f.read_register("rsi")) & CMD_MASK
    sym = gdb.execute("info symbol 0x%x" % addr, to_string=True).strip()
    sym = sym.split(" in section")[0] if " in section" in sym else "0x%x" % addr
    if op == FUTEX_WAIT:
        m = gdb.parse_and_eval("(pthread_mutex_t *) 0x%x" % addr)
        owner = int(m["__data"]["__owner"])
        out.append("thread %d '%s' waits for mutex %s owner %d" % (tid, th.name, sym, owner))
    else:
        out.append("thread %d '%s' waits on futex %s op %d" % (tid, th.name, sym, op))
gdb.write("\n".join(out) + "\n")
EOF

# --- the target ----------------------------------------------------------

TOUT=$TMP/target.out
NT="" T_TID="" A_TID="" NACCT="" NIDLE=""

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

# Threads of the target asleep in futex() right now.
in_futex() {
	cat /proc/"$TPID"/task/*/syscall 2>/dev/null | grep -c '^202 '
}

# Waits until every thread but main is back in futex() (a tool that
# stopped them interrupts their waits, which restart at once).
settle() {
	local i=0
	while [ "$(in_futex)" -lt $((NT - 1)) ]; do
		target_alive || die "target died"
		i=$((i + 1))
		[ "$i" -gt 1000 ] && die "target's threads not back in futex() after 10 s ($(in_futex) of $((NT - 1)))"
		sleep 0.01
	done
}

start_target() { # start_target <N>
	local i=0
	: >"$TOUT"
	"$TARGET" "$1" >"$TOUT" 2>&1 &
	TPID=$!
	until grep -q '^ready pid=' "$TOUT"; do
		kill -0 "$TPID" 2>/dev/null || die "target exited: $(cat "$TOUT")"
		i=$((i + 1))
		[ "$i" -gt 1200 ] && die "target not ready after 120 s"
		sleep 0.1
	done
	[ "$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$TOUT")" = "$TPID" ] ||
		die "target says $(grep '^ready' "$TOUT"), started $TPID"
	T_TID=$(sed -n 's/^transfer tid=\([0-9]*\) .*/\1/p' "$TOUT")
	A_TID=$(sed -n 's/.* audit tid=\([0-9]*\) .*/\1/p' "$TOUT")
	NACCT=$(sed -n 's/.* acct=\([0-9]*\) .*/\1/p' "$TOUT")
	NIDLE=$(sed -n 's/.* idle=\([0-9]*\)$/\1/p' "$TOUT")
	NT=$(ls /proc/"$TPID"/task | wc -l)
	[ "$NT" = "$1" ] || die "target has $NT threads, asked for $1"
	[ -n "$T_TID" ] && [ -n "$A_TID" ] && [ -n "$NACCT" ] && [ -n "$NIDLE" ] ||
		die "target did not say its TIDs: $(cat "$TOUT")"
	say "bench lockgraph: target pid $TPID, $NT threads (transfer $T_TID, audit $A_TID, $NACCT on accounts_lock, $NIDLE on idle_cond)"
}

stop_target() {
	kill -KILL "$TPID" 2>/dev/null
	wait "$TPID" 2>/dev/null
	TPID=""
}

# --- the commands --------------------------------------------------------

IDS=lg-text
IDS="$IDS lg-json"
[ "$HAVE_GDB" = 1 ] && IDS="$IDS gdb gdb-nodebug"
IDS="$IDS harness"

set_cmd() { # set_cmd <id> <pid>
	case $1 in
	lg-text) CMD=("$LG" -p "$2") ;;
	lg-json) CMD=("$LG" -j -p "$2") ;;
	gdb) CMD=(gdb -p "$2" -batch -nx -iex 'set debuginfod enabled off'
		-x "$GDBPY") ;;
	gdb-nodebug) CMD=(gdb -p "$2" -batch -nx -iex 'set debuginfod enabled off'
		-iex 'set debug-file-directory /nonexistent' -x "$GDBPY") ;;
	harness) CMD=(true) ;;
	esac
}

label() {
	case $1 in
	lg-text) echo "lockgraph -p PID" ;;
	lg-json) echo "lockgraph -j -p PID" ;;
	gdb) echo "gdb -p PID -batch -x owners.py" ;;
	gdb-nodebug) echo "the same, without separate debug files (libc6-dbg)" ;;
	harness) echo "true (the timing harness alone)" ;;
	esac
}

# check <id> <rc> <output>: "stopped_ms owners ok" where ok is yes or
# "no: why", owners the threads whose lock and holder the output gives
# right (- when it does not list them all).
check() {
	local id=$1 rc=$2 out=$3 why="" st=- ow=- n
	case $id in
	harness) echo "- - yes"; return ;;
	lg-text)
		[ "$rc" = 1 ] || why="$why exit $rc, not 1;"
		[ "$(head -n 1 "$out")" = "DEADLOCK: 2 threads wait for each other" ] ||
			why="$why verdict '$(head -n 1 "$out")';"
		grep -qF "thread $T_TID 'transfer' waits for ledger_lock (default mutex), held by thread $A_TID 'audit'" "$out" ||
			why="$why no transfer->ledger_lock->audit;"
		grep -qF "thread $A_TID 'audit' waits for accounts_lock (default mutex), held by thread $T_TID 'transfer'" "$out" ||
			why="$why no audit->accounts_lock->transfer;"
		[ "$(grep -c '^cycle [0-9]*:' "$out")" = 1 ] ||
			why="$why $(grep -c '^cycle [0-9]*:' "$out") cycles;"
		sed -n 2p "$out" | grep -q "^$NT threads:" ||
			why="$why threads line '$(sed -n 2p "$out")';"
		st=$(sed -n 's/.*blocked threads stopped \([0-9.]*\) ms in all.*/\1/p' "$out" | head -n 1)
		[ -n "$st" ] || st=-
		;;
	lg-json)
		[ "$rc" = 1 ] || why="$why exit $rc, not 1;"
		if [ "$HAVE_JQ" = 1 ]; then
			n=$(jq -r --argjson t "$T_TID" --argjson a "$A_TID" '
				[.deadlocked,
				 (.cycles | length),
				 ([.cycles[0][] | "\(.tid) \(.thread_name) \(.waits_for.name) \(.held_by_tid)"] | sort | join(",")) ==
				 ([ "\($t) transfer ledger_lock \($a)", "\($a) audit accounts_lock \($t)" ] | sort | join(",")),
				 ([.blocked_threads[] | select(
					(.waits_for.name == "accounts_lock" and .held_by_tid == $t) or
					(.waits_for.name == "ledger_lock" and .held_by_tid == $a and .tid == $t))] | length),
				 ([.blocked_threads[] | select(.waits_for.name == "idle_cond" and .held_by_tid == null)] | length),
				 (.blocked_threads | length)] | @tsv' "$out" 2>/dev/null)
			set -- $n
			if [ $# != 6 ]; then
				why="$why not JSON;"
			else
				[ "$1" = true ] || why="$why deadlocked $1;"
				[ "$2" = 1 ] || why="$why $2 cycles;"
				[ "$3" = true ] || why="$why wrong cycle;"
				[ "$4" = $((NACCT + 2)) ] || why="$why $4 of $((NACCT + 2)) mutex waits with the right holder;"
				[ "$5" = "$NIDLE" ] || why="$why $5 of $NIDLE on idle_cond;"
				[ "$6" = $((NT - 1)) ] || why="$why $6 blocked threads listed, not $((NT - 1));"
				ow=$(($4 + $5))
			fi
		else
			grep -q '"deadlocked":true' "$out" || why="$why not deadlocked;"
			grep -q '"name":"accounts_lock"' "$out" && grep -q '"name":"ledger_lock"' "$out" ||
				why="$why locks not named;"
		fi
		;;
	gdb*)
		[ "$rc" = 0 ] || why="$why exit $rc;"
		[ "$(grep -c '^thread [0-9]* ' "$out")" = "$NT" ] ||
			why="$why $(grep -c '^thread [0-9]* ' "$out") threads shown, not $NT;"
		grep -qx "thread $T_TID 'transfer' waits for mutex ledger_lock owner $A_TID" "$out" ||
			why="$why no transfer->ledger_lock->audit;"
		grep -qx "thread $A_TID 'audit' waits for mutex accounts_lock owner $T_TID" "$out" ||
			why="$why no audit->accounts_lock->transfer;"
		n=$(grep -c "^thread [0-9]* 'acct-[0-9]*' waits for mutex accounts_lock owner $T_TID\$" "$out")
		[ "$n" = "$NACCT" ] || why="$why $n of $NACCT acct-K with the right owner;"
		ow=$(grep -c "^thread [0-9]* 'idle-[0-9]*' waits on futex idle_cond " "$out")
		[ "$ow" = "$NIDLE" ] || why="$why $ow of $NIDLE idle-K on idle_cond;"
		ow=$((ow + n + 2))
		;;
	esac
	if [ -n "$why" ]; then
		echo "$st $ow no:${why%;}"
	else
		echo "$st $ow yes"
	fi
}

# cpu_children <file>: the user and sys CPU seconds of this shell's reaped
# children, from the output of bash's `times` (to the millisecond) in file.
# `times` must run in this shell, not in a subshell, hence the file; and
# right before and after the measured run, nothing else forked between.
cpu_children() {
	local a b
	{ read -r a; read -r a b; } <"$1"
	awk -v u="$a" -v s="$b" 'function sec(x, m) {
			m = x; sub(/m.*/, "", m); sub(/^[0-9]*m/, "", x); sub(/s$/, "", x)
			return m * 60 + x }
		BEGIN { printf "%.3f %.3f\n", sec(u), sec(s) }'
}

CRASHES=0 WRONG=0
printf 'n\tid\trep\twall_s\tuser_s\tsys_s\tcpu_s\tmaxrss_kb\trc\tok\tstopped_ms\towners\tleft_stopped\n' >"$RAW"
declare -A TIMED_OUT

measure() { # measure <n> <id> <rep>
	local n=$1 id=$2 rep=$3 out err tf t0 t1 rc wall u0 s0 u1 s1 user sys cpu rss ok st ow left
	if [ -n "${TIMED_OUT[$n.$id]:-}" ]; then
		return
	fi
	out=$OUTD/$n.$id.$rep.txt
	err=$OUTD/$n.$id.$rep.err
	tf=$TMP/time
	settle
	set_cmd "$id" "$TPID"
	times >"$TMP/times0"
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M' -o "$tf" \
		timeout -k 5 "$TMO" "${CMD[@]}" >"$out" 2>"$err" &
	CPID=$!
	wait "$CPID"
	rc=$?
	t1=$EPOCHREALTIME
	CPID=""
	times >"$TMP/times1"
	read -r u0 s0 < <(cpu_children "$TMP/times0")
	read -r u1 s1 < <(cpu_children "$TMP/times1")
	target_alive || die "target died during $id (run $rep, $n threads)"
	left=$(stopped_threads)
	if [ "$left" != 0 ]; then
		say "bench lockgraph: $id left $left threads stopped; continuing them"
		kill -CONT "$TPID"
	fi
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
	user=$(awk -v a="$u0" -v b="$u1" 'BEGIN { printf "%.3f", b - a }')
	sys=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.3f", b - a }')
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.3f", u + s }')
	rss=$(tail -n 1 "$tf" 2>/dev/null)
	case $rss in '' | *[!0-9]*) rss=- ;; esac
	if [ "$rc" = 124 ] || { [ "$rc" = 137 ] &&
		[ "${t1%.*}" -ge $((${t0%.*} + TMO)) ]; }; then
		say "bench lockgraph: $id on $n threads (run $rep) timed out after $TMO s; not run again on $n"
		TIMED_OUT[$n.$id]=1
		ok="timed out" st=- ow=-
	else
		if [ "$rc" -ge 128 ]; then
			say "bench lockgraph: $id on $n threads (run $rep) crashed (status $rc): $(tail -n 3 "$err")"
			CRASHES=$((CRASHES + 1))
		fi
		read -r st ow ok < <(check "$id" "$rc" "$out")
		if [ "$ok" != yes ]; then
			say "bench lockgraph: $id on $n threads (run $rep) gave a wrong answer: $ok"
			WRONG=$((WRONG + 1))
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$id" \
		"$rep" "$wall" "$user" "$sys" "$cpu" "$rss" "$rc" "$ok" "$st" \
		"$ow" "$left" >>"$RAW"
	say "bench lockgraph: run $rep $id on $n threads: wall ${wall} s, cpu ${cpu} s, rss ${rss} KB, stopped ${st} ms, right: $ok"
}

# The untimed looks, once per N.
declare -A SC_TOP SC_CALLS WIN_INT WIN_ALL PT_STOPPED
profile() { # profile <n>
	local n=$1 f rc
	if [ "$HAVE_STRACE" = 1 ]; then
		settle
		f=$OUTD/$n.strace-c.txt
		strace -c -f -o "$f" "$LG" -p "$TPID" >"$OUTD/$n.strace.out" 2>&1
		target_alive || die "target died under strace + lockgraph"
		[ "$(stopped_threads)" = 0 ] || kill -CONT "$TPID"
		# The top five by time: "name calls (share %)".
		SC_TOP[$n]=$(awk '$1 ~ /^[0-9.]+$/ && NF >= 5 {
				name = $NF; calls = $4
				if (k < 5) printf "%s%s %s (%s %%)", (k ? ", " : ""), name, calls, $1
				k++ }' "$f")
		SC_CALLS[$n]=$(awk '$NF == "total" { print $4 }' "$f")
	fi
	if [ "$HAVE_PERF" = 1 ]; then
		settle
		f=$TMP/$n.ptrace.data
		perf record -q -e syscalls:sys_enter_ptrace -o "$f" \
			"$LG" -p "$TPID" >"$OUTD/$n.perf.out" 2>"$OUTD/$n.perf.err"
		rc=$?
		target_alive || die "target died under perf + lockgraph"
		[ "$(stopped_threads)" = 0 ] || kill -CONT "$TPID"
		if [ "$rc" = 1 ]; then
			# request 0x4207 PTRACE_INTERRUPT, 0x11 PTRACE_DETACH
			read -r WIN_INT[$n] WIN_ALL[$n] < <(perf script -i "$f" \
				-F time,trace 2>/dev/null | awk '
				{ t = $1; sub(/:$/, "", t); r = $3; sub(/,$/, "", r) }
				r == "0x00004207" { if (a == "") a = t; li = t }
				r == "0x00000011" { ld = t }
				END { if (a == "" || ld == "") print "- -"
				      else printf "%.2f %.2f\n", (li - a) * 1000, (ld - a) * 1000 }')
			PT_STOPPED[$n]=$(sed -n 's/.*blocked threads stopped \([0-9.]*\) ms in all.*/\1/p' "$OUTD/$n.perf.out")
		else
			say "bench lockgraph: perf record did not work here (status $rc): $(head -n 1 "$OUTD/$n.perf.err")"
		fi
	fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
declare -A NTASKS
for n in $NS; do
	say "bench lockgraph: starting $TARGET $n"
	start_target "$n"
	NTASKS[$n]=$NT
	# One untimed run of each first: page cache, gdb's symbols.
	for id in $IDS; do
		settle
		set_cmd "$id" "$TPID"
		timeout -k 5 "$TMO" "${CMD[@]}" >/dev/null 2>&1
		target_alive || die "target died during a warm-up run of $id"
		[ "$(stopped_threads)" = 0 ] || kill -CONT "$TPID"
	done
	set -- $IDS
	nids=$#
	for rep in $(seq 1 "$REPS"); do
		order=$(printf '%s\n' $IDS | awk -v s="$((rep - 1))" -v n="$nids" '
			{ a[NR - 1] = $0 } END { for (i = 0; i < n; i++) print a[(i + s) % n] }')
		for id in $order; do
			measure "$n" "$id" "$rep"
		done
	done
	profile "$n"
	stop_target
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(($(date +%s) - START))

# --- the summary ---------------------------------------------------------

col() { head -n 1 "$RAW" | tr '\t' '\n' | grep -nx "$1" | cut -d: -f1; }
# stats <n> <id> <column>: "median min max" over the runs.
stats() {
	local c
	c=$(col "$3")
	awk -F'\t' -v k="$1" -v id="$2" -v c="$c" \
		'NR > 1 && $1 == k && $2 == id && $c != "-" && $c != "" { print $c }' "$RAW" |
		sort -g | awk '{ a[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
			print m, a[1], a[NR]
		}'
}
med() { stats "$1" "$2" "$3" | cut -d' ' -f1; }
nruns() { awk -F'\t' -v k="$1" -v id="$2" 'NR > 1 && $1 == k && $2 == id' "$RAW" | wc -l; }
# scaled <n> <id> <col> <factor> <offset> <format>: "median (min–max)" of
# (value - offset) * factor
scaled() {
	local m lo hi
	read -r m lo hi < <(stats "$1" "$2" "$3")
	[ "$m" = - ] && { echo -; return; }
	awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="$4" -v o="$5" -v fmt="$6" \
		'BEGIN { printf fmt " (" fmt "–" fmt ")", (m - o) * f, (lo - o) * f, (hi - o) * f }'
}
ratio() { # ratio <a> <b>: a/b as "0.12×"
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) { print "n/a"; exit }
		if (a + 0 == 0) { print "0×"; exit }
		r = a / b
		if (r >= 10) { printf "%.0f×", r; exit }
		if (r >= 0.1) { printf "%.2f×", r; exit }
		d = 2; for (x = r; x < 0.1 && d < 9; x *= 10) d++
		printf "%." d "f×", r }'
}
# right <n> <id>: "yes" when every run's answer was right
right() {
	local n y
	n=$(nruns "$1" "$2")
	y=$(awk -F'\t' -v k="$1" -v id="$2" 'NR > 1 && $1 == k && $2 == id && $10 == "yes"' "$RAW" | wc -l)
	if [ "$n" = 0 ]; then echo -; elif [ "$y" = "$n" ]; then echo yes;
	elif [ "$y" = 0 ]; then echo "**no**"; else echo "**$y of $n runs**"; fi
}
left_any() {
	awk -F'\t' -v k="$1" -v id="$2" 'NR > 1 && $1 == k && $2 == id { s += $13 } END { print s + 0 }' "$RAW"
}
sub_s() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.4f", a - b }'; }
ms() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.1f", v * 1000 }'; }
timed_out() { [ -n "${TIMED_OUT[$1.$2]:-}" ]; }
met() { awk -v v="$1" -v b="$2" 'BEGIN { print (v != "-" && v != "" && v + 0 <= b + 0) ? "yes" : "no" }'; }

{
	echo "# lockgraph vs gdb on a hung process of $(echo $NS | sed 's/ / and /g') threads"
	echo
	echo "Target: \`bench/hung-many N\` (built here with cc -O0 -g): N threads" \
		"in all; \"transfer\" and \"audit\" deadlocked ABBA on accounts_lock" \
		"and ledger_lock; of the rest, half in pthread_mutex_lock on" \
		"accounts_lock (held by transfer), half in pthread_cond_wait on" \
		"idle_cond; main in pause(); 64 KiB stacks." \
		"$(nproc) CPUs, load average $LOAD_BEFORE before, $LOAD_AFTER after;" \
		"kernel $(uname -r); $REPS runs of each command after one untimed" \
		"warm-up (order rotated per run); the bench took ${ELAPSED} s." \
		"Figures are medians (min–max)."
	echo
	echo "lockgraph binary: built $LG_WHAT. $(gdb --version 2>/dev/null | head -n 1)."
	echo
	echo "- wall: \$EPOCHREALTIME around \`/usr/bin/time timeout ... CMD\`; CPU:" \
		"user+sys of those processes (bash's \`times\`, to the ms); peak RSS:" \
		"/usr/bin/time %M, the largest process, the tool itself. The" \
		"\`true\` row is the harness alone."
	echo "- verdict work: lockgraph's wall less the ${LOOK_S} s it waits on" \
		"purpose between its two looks (a real deadlock must still be there" \
		"a moment later)."
	echo "- stopped in all: lockgraph's own \"blocked threads stopped X ms in" \
		"all\": each stopped thread's stop, from when it stopped to its" \
		"detach, added up over all of them (they are stopped together, so" \
		"the process is stopped for much less: see below); per thread: that" \
		"÷ N − 1, the threads in futex()."
	echo "- owners right: threads whose lock and holder (or condition" \
		"variable) the output gives right, of N − 1; the text report only" \
		"lists the cycle (no \`-a\`), so it is checked on the cycle alone."
	echo "- gdb reads libc's separate debug file (libc6-dbg, installed" \
		"here: $(dpkg-query -W -f '${Status}' libc6-dbg 2>/dev/null | grep -q 'ok installed' && echo yes || echo no)) when there is one; the row" \
		"without it shows what that costs. lockgraph reads only its symbol" \
		"table, for names such as __lll_lock_wait."
	echo
	echo "| threads | command | wall ms | verdict work ms (wall − ${LOOK_S} s) | CPU ms | peak RSS MiB | stopped in all ms | per thread ms | owners right | answer right | runs |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for n in $NS; do
		for id in $IDS; do
			nr=$(nruns "$n" "$id")
			[ "$nr" = 0 ] && continue
			if timed_out "$n" "$id"; then
				echo "| $n | \`$(label "$id")\` | **timed out (> $TMO s)** | - | - | - | - | - | - | - | $nr |"
				continue
			fi
			case $id in
			lg-*) vw=$(scaled "$n" "$id" wall_s 1000 "$LOOK_S" %.1f) ;;
			*) vw=- ;;
			esac
			stt=$(med "$n" "$id" stopped_ms)
			if [ "$stt" != - ]; then
				pt=$(awk -v s="$stt" -v n="$((${NTASKS[$n]} - 1))" 'BEGIN { printf "%.2f", s / n }')
				stt=$(scaled "$n" "$id" stopped_ms 1 0 %.1f)
			else
				pt=-
			fi
			ow=$(med "$n" "$id" owners)
			[ "$ow" != - ] && ow="$ow of $((${NTASKS[$n]} - 1))"
			[ "$id" = lg-text ] && ow="cycle only"
			[ "$id" = harness ] && ow=-
			echo "| $n | \`$(label "$id")\` |" \
				"$(scaled "$n" "$id" wall_s 1000 0 %.1f) | $vw |" \
				"$(scaled "$n" "$id" cpu_s 1000 0 %.0f) |" \
				"$(scaled "$n" "$id" maxrss_kb 0.0009765625 0 %.1f) |" \
				"$stt | $pt | $ow |" \
				"$( [ "$id" = harness ] && echo - || right "$n" "$id") | $nr |"
		done
	done
	echo
	echo "## Ratios (medians; lockgraph ÷ gdb; below 1: lockgraph better)"
	echo
	if [ "$HAVE_GDB" = 1 ]; then
		echo "| threads | lockgraph | vs | wall | verdict work ÷ gdb wall | CPU | peak RSS |"
		echo "|---|---|---|---|---|---|---|"
		for n in $NS; do
			for g in gdb gdb-nodebug; do
				for id in lg-text lg-json; do
					gw=$(med "$n" "$g" wall_s)
					timed_out "$n" "$g" && gw=-
					case $g in
					gdb) gl="gdb + script" ;;
					*) gl="gdb + script, no libc6-dbg" ;;
					esac
					echo "| $n | \`$(label "$id")\` | $gl |" \
						"$(ratio "$(med "$n" "$id" wall_s)" "$gw") |" \
						"$(ratio "$(sub_s "$(med "$n" "$id" wall_s)" "$LOOK_S")" "$gw") |" \
						"$(ratio "$(med "$n" "$id" cpu_s)" "$(med "$n" "$g" cpu_s)") |" \
						"$(ratio "$(med "$n" "$id" maxrss_kb)" "$(med "$n" "$g" maxrss_kb)") |"
				done
			done
		done
	else
		echo "gdb not available: no ratios."
	fi
	set -- $NS
	if [ $# -ge 2 ]; then
		lo=$1 hi=${!#}
		echo
		echo "Growth from $lo to $hi threads ($hi ÷ $lo, medians):" \
			"lockgraph verdict work $(ratio "$(sub_s "$(med "$hi" lg-text wall_s)" "$LOOK_S")" "$(sub_s "$(med "$lo" lg-text wall_s)" "$LOOK_S")")," \
			"CPU $(ratio "$(med "$hi" lg-text cpu_s)" "$(med "$lo" lg-text cpu_s)")," \
			"stopped in all $(ratio "$(med "$hi" lg-text stopped_ms)" "$(med "$lo" lg-text stopped_ms)");" \
			"gdb wall $(ratio "$(med "$hi" gdb wall_s)" "$(med "$lo" gdb wall_s)")," \
			"CPU $(ratio "$(med "$hi" gdb cpu_s)" "$(med "$lo" gdb cpu_s)");" \
			"gdb without libc6-dbg: wall $(ratio "$(med "$hi" gdb-nodebug wall_s)" "$(med "$lo" gdb-nodebug wall_s)")."
	fi
	echo
	echo "## How long the process was stopped, and where lockgraph's system calls go"
	echo
	echo "One untimed run of \`lockgraph -p PID\` per size each way. Stop" \
		"window: the ptrace calls of one run traced with \`perf record -e" \
		"syscalls:sys_enter_ptrace\` (no stop of lockgraph per call); all" \
		"blocked threads are stopped from the first PTRACE_INTERRUPT to the" \
		"last PTRACE_DETACH at the latest. System calls: \`strace -c -f\`" \
		"(slows lockgraph down; the shares are what counts)."
	echo
	echo "| threads | first to last PTRACE_INTERRUPT ms | first PTRACE_INTERRUPT to last PTRACE_DETACH ms | \"stopped in all\" in that run ms | system calls | top 5 by time (calls, share) |"
	echo "|---|---|---|---|---|---|"
	for n in $NS; do
		echo "| $n | ${WIN_INT[$n]:--} | ${WIN_ALL[$n]:--} | ${PT_STOPPED[$n]:--} | ${SC_CALLS[$n]:--} | ${SC_TOP[$n]:--} |"
	done
	if [ "$HAVE_PERF" != 1 ]; then
		echo
		echo "(perf not installed: no stop window.)"
	fi
	echo
	echo "## The issue's target (reported, not enforced)"
	echo
	h=$(med "$(echo $NS | cut -d' ' -f1)" harness wall_s)
	echo "\"≤ 10 ms for 100 threads without stopping the process for the" \
		"graph (a probe here took 3.5 ms; gdb + script 234 ms)\". Verdict" \
		"work = wall − ${LOOK_S} s; net = also less the harness's median" \
		"($(ms "$h") ms)."
	echo
	echo "| threads | lockgraph -p: verdict work ms (worst run; net) | gdb + script ms (without libc6-dbg) | process stopped for the graph? | ≤ 10 ms |"
	echo "|---|---|---|---|---|"
	for n in $NS; do
		w=$(sub_s "$(med "$n" lg-text wall_s)" "$LOOK_S")
		wx=$(sub_s "$(stats "$n" lg-text wall_s | cut -d' ' -f3)" "$LOOK_S")
		hn=$(med "$n" harness wall_s)
		net=$(sub_s "$w" "$hn")
		l=$(left_any "$n" lg-text)
		stopnote="no: the graph comes from /proc and process_vm_readv while it runs; only the $((${NTASKS[$n]} - 1)) threads blocked in futex() are stopped, together, to read their registers for the stacks"
		[ -n "${WIN_ALL[$n]:-}" ] && [ "${WIN_ALL[$n]}" != - ] &&
			stopnote="$stopnote (${WIN_ALL[$n]} ms from first interrupt to last detach)"
		[ "$l" != 0 ] && stopnote="$stopnote; **$l threads left stopped after a run**"
		tgt="-"
		[ "$n" = 100 ] && tgt="$(met "$w" 0.010) (net: $(met "$net" 0.010))"
		echo "| $n | $(ms "$w") (worst $(ms "$wx"); net $(ms "$net")) |" \
			"$(ms "$(med "$n" gdb wall_s)") ($(ms "$(med "$n" gdb-nodebug wall_s)")) | $stopnote | $tgt |"
	done
	bad=$(awk -F'\t' 'NR > 1 && $2 != "harness" && ($10 != "yes") {
			printf "- %s threads, `%s` run %s: exit %s, %s\n", $1, $2, $3, $9, $10 }' "$RAW")
	if [ -n "$bad" ]; then
		echo
		echo "**Runs with a wrong answer or that timed out** (outputs in lockgraph-out/):"
		echo
		echo "$bad"
	fi
	echo
	echo "Raw runs: \`${RES#"$SB_TOP"/}/lockgraph-runs.tsv\`; tool outputs and" \
		"the gdb script: \`${RES#"$SB_TOP"/}/lockgraph-out/\`."
} >"$SUM"
cat "$SUM"

st=0
if [ "$CRASHES" != 0 ]; then
	say "bench lockgraph: $CRASHES tool run(s) crashed"
	st=1
fi
if [ "$WRONG" != 0 ]; then
	say "bench lockgraph: $WRONG tool run(s) gave a wrong answer"
	st=1
fi
exit "$st"
