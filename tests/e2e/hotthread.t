#!/bin/bash
# hotthread end to end: start each sick program, point hotthread at it, and
# check what it says about the hot thread, in text, JSON and folded form.
. "$(dirname "$0")/../lib.sh"

TP=$SB_TOP/testprogs
spin_line=$(line_of "$TP/spin-worker.c" SPIN-LINE)
vdso_line=$(line_of "$TP/spin-vdso.c" VDSO-LINE)

# --- spin-worker: one named thread spins three calls deep ------------------
start_prog spin-worker
pid=$PROG_PID
hot=$(thread_tid "$pid" worker-2)
out=$(hotthread -b -p "$pid" 2>"$SB_TMP/err"); rc=$?
is "spin-worker: exit status 0" "$rc" 0
verdict=$(sed -n 1p <<<"$out")
like "verdict names the hot thread and its function" "$verdict" \
	"^thread $hot 'worker-2' burns [0-9]+ % CPU \(user\) in spin_inner \(spin-worker.c:$spin_line\)$"
like "profile shows the call chain" "$out" \
	"% spin_inner <- spin_middle <- spin_outer <- worker_main <- \.\.\. \(spin-worker.c:$spin_line\)"
like "frames with file:line and module" "$out" \
	"#1 +0x[0-9a-f]+ spin_middle\+0x[0-9a-f]+ \(spin-worker.c:[0-9]+\) in spin-worker"
like "table has the hot thread first, marked" "$(sed -n 6p <<<"$out")" \
	"^\* +$hot worker-2 +R "
like "then the process" "$(sed -n 2p <<<"$out")" \
	"^process $pid 'spin-worker': 6 threads on [0-9]+ CPUs over 1.[0-9]+ s$"
like "and how long the target was stopped" "$(sed -n 3p <<<"$out")" \
	"^target stopped [0-9.]+ ms in all \((1[5-9]|20) stops, longest [0-9.]+ ms\)$"
is "no complaints on stderr" "$(cat "$SB_TMP/err")" ""

# An independent measure of the spinner's share over the same run, from
# its schedstat, to check hotthread's figure against (the machine may be
# busy, so the share itself is not assumed).
oncpu() { cut -d' ' -f1 /proc/"$pid"/task/"$hot"/schedstat; }
c0=$(oncpu); w0=$(date +%s%N)
json=$(hotthread -j -p "$pid"); rc=$?
c1=$(oncpu); w1=$(date +%s%N)
share=$(( (c1 - c0) * 100 / (w1 - w0) ))
is "json: exit status 0" "$rc" 0
check "json: one valid document" jq -e . <<<"$json"
is "json: tool, version, pid" \
	"$(jq -r '[.tool, (.version|type), .pid] | join(" ")' <<<"$json")" \
	"hotthread string $pid"
is "json: required keys present" \
	"$(jq -r '[has("interval_s","ncpu","target_stopped_ms","verdict","threads")] | all' <<<"$json")" true
is "json: hottest thread first" \
	"$(jq -r '.threads[0] | "\(.tid) \(.name) \(.state)"' <<<"$json")" "$hot worker-2 R"
check "json: its CPU share agrees with the kernel's ($share %)" \
	jq -e --argjson s "$share" '.threads[0].cpu_pct > 5 and
		(.threads[0].cpu_pct - $s | fabs) < 10 + $s / 5 and
		.threads[0].user_pct > .threads[0].sys_pct' <<<"$json"
check "json: threads sorted by CPU, descending" \
	jq -e '[.threads[].cpu_pct] as $c | $c == ($c | sort | reverse)' <<<"$json"
check "json: the leader's own CPU, not the process total" \
	jq -e --argjson p "$pid" '.threads[] | select(.tid == $p) | .cpu_pct < 5' <<<"$json"
check "json: context switch rates per thread" \
	jq -e '.threads | all(has("vcsw_per_s") and has("ivcsw_per_s"))' <<<"$json"
check "json: top frame is spin_inner at the spin line" \
	jq -e --argjson l "$spin_line" '.threads[0].samples[0].stack[0] |
		.function == "spin_inner" and .line == $l and
		(.file | endswith("spin-worker.c")) and
		(.addr | test("^0x[0-9a-f]+$"))' <<<"$json"
# A sample is lost only when the thread cannot be stopped in 200 ms (a
# machine loaded far beyond its CPUs); most must arrive.
check "json: sample counts add up to the stops, at most -s" \
	jq -e '([.threads[0].samples[].count] | add) as $n |
		$n >= 15 and $n <= 20 and $n == .stops' <<<"$json"
check "json: only the hot thread was stopped: every stop is one of its samples" \
	jq -e '.stops == ([.threads[] | select(.hot) | .samples[]?.count] | add)' <<<"$json"
check "json: stopped time is reported and small" \
	jq -e '.target_stopped_ms > 0 and .target_stopped_ms < 1000' <<<"$json"

json2=$(hotthread -j -n 2 -d 0.3 -s 5 -p "$pid")
is "json -n 2: two documents, one per line" "$(wc -l <<<"$json2")" 2
check "json -n 2: both valid" jq -e -s 'length == 2 and all(.tool == "hotthread")' <<<"$json2"

folded=$(hotthread --folded -p "$pid"); rc=$?
is "folded: exit status 0" "$rc" 0
like "folded: outermost first, count last" "$folded" \
	"^worker-2;.*;worker_main;spin_outer;spin_middle;spin_inner [0-9]+$"
check "folded: counts add up to the samples" \
	awk '{ n += $NF } END { exit !(n >= 15 && n <= 20) }' <<<"$folded"

# The target is left running, every thread of it.
sleep 0.2
unlike "target not left stopped" "$(proc_states "$pid")" "[tT]"
t1=$(awk '{ print $14 }' /proc/"$pid"/task/"$hot"/stat)
sleep 0.3
t2=$(awk '{ print $14 }' /proc/"$pid"/task/"$hot"/stat)
check "the hot thread keeps running afterwards" test "$t2" -gt "$t1"

out=$(hotthread -b -p "$hot" 2>"$SB_TMP/err"); rc=$?
is "a TID is taken for its process: exit 0" "$rc" 0
like "and said so" "$(cat "$SB_TMP/err")" "$hot is a thread of process $pid"

kill "$pid"

# -C: a name no other process on the machine has.
uniq=sb-hot-$$
ln -s "$SB_TESTPROGS/spin-worker" "$SB_TMP/$uniq"
start_prog "$SB_TMP/$uniq"
pid=$PROG_PID
out=$(hotthread -b -C "$uniq" 2>&1); rc=$?
is "-C name: exit 0" "$rc" 0
like "-C name finds the process" "$out" "process $pid '$uniq'"

out=$(hotthread -b -d 0.5 2>&1); rc=$?
like "no -p: examines the busiest process" "$out" "examining the busiest process, [0-9]+ '"
busiest=$(sed -n "s/.*examining the busiest process, \([0-9]*\) .*/\1/p" <<<"$out")
if [ "$busiest" = "$pid" ]; then
	is "no -p: found the spinner, exit 0" "$rc" 0
else
	# A busy machine (CI neighbours) may have a busier process.
	ok 0 "# SKIP no -p: process $busiest was busier than the spinner"
fi

# The live view, on a terminal: draws, and q quits.
out=$( (sleep 2; printf q) | TERM=xterm timeout 20 script -qfec "hotthread -d 0.3 -p $pid" /dev/null); rc=$?
is "live view: q quits with status 0" "$rc" 0
like "live view: draws the verdict" "$out" "worker-2' burns"
kill "$pid"

# --- the stripped -O2 build: module+offset, never a wrong name ------------
start_prog spin-worker-O2-stripped
pid=$PROG_PID
json=$(hotthread -j -p "$pid"); rc=$?
is "stripped: exit 0" "$rc" 0
check "stripped: the hot thread is still found" \
	jq -e '.threads[0].name == "worker-2" and .threads[0].hot' <<<"$json"
check "stripped: its own frames have no name (no neighbouring symbol)" \
	jq -e '[.threads[0].samples[].stack[] | select(.module | endswith("spin-worker-O2-stripped")) | .function] | length > 0 and all(. == null)' <<<"$json"
check "stripped: the unwind still reaches libc's thread start" \
	jq -e '[.threads[0].samples[0].stack[].module | select(. != null) | test("libc")] | any' <<<"$json"
out=$(hotthread -b -p "$pid")
like "stripped: frames print as module+offset with build-id" "$out" \
	"spin-worker-O2-stripped\+0x[0-9a-f]+ \(build-id [0-9a-f]{40}\)"
unlike "stripped: no invented names" "$out" "spin_inner|_init|_start \(|frame_dummy"
kill "$pid"

# --- spin-syscall: system time --------------------------------------------
start_prog spin-syscall
pid=$PROG_PID
out=$(hotthread -b -p "$pid"); rc=$?
is "spin-syscall: exit 0" "$rc" 0
like "spin-syscall: system time named, and the caller in the program" \
	"$(sed -n 1p <<<"$out")" \
	"thread [0-9]+ 'syscaller' burns [0-9]+ % CPU \(system\) in read <- burn_in_kernel \(spin-syscall.c:[0-9]+\)"
check "spin-syscall: sys share above user share" \
	jq -e '.threads[0] | .name == "syscaller" and .sys_pct > .user_pct' <<<"$(hotthread -j -d 0.5 -p "$pid")"
kill "$pid"

# --- spin-vdso: stopped inside the vDSO, the walk must get out of it ------
start_prog spin-vdso
pid=$PROG_PID
json=$(hotthread -j -p "$pid"); rc=$?
is "spin-vdso: exit 0" "$rc" 0
check "spin-vdso: most samples stop in the vDSO" \
	jq -e '[.threads[0].samples[] | select(.stack[0].module == "[vdso]") | .count] | add > 10' <<<"$json"
check "spin-vdso: every vDSO stack continues to poll_clock and clock_loop" \
	jq -e '[.threads[0].samples[] | select(.stack[0].module == "[vdso]") | [.stack[].function] | index("poll_clock") != null and index("clock_loop") != null] | all' <<<"$json"
check "spin-vdso: the vDSO frame is named from the vDSO image" \
	jq -e '[.threads[0].samples[].stack[0] | select(.module == "[vdso]") | .function | test("clock_gettime")] | all' <<<"$json"
out=$(hotthread -b -p "$pid")
like "spin-vdso: verdict points at the program's line" "$(sed -n 1p <<<"$out")" \
	"'clockspin' burns .* poll_clock \(spin-vdso.c:$vdso_line\)"
kill "$pid"
start_prog spin-vdso-O2-stripped
pid=$PROG_PID
json=$(hotthread -j -p "$pid")
check "spin-vdso stripped: walks out of the vDSO into the program" \
	jq -e '[.threads[0].samples[] | select(.stack[0].module == "[vdso]") | [.stack[].module] | map(select(. != null) | endswith("spin-vdso-O2-stripped")) | any] | all' <<<"$json"
kill "$pid"

# --- thread-storm: too many threads for the CPUs ----------------------------
start_prog thread-storm
pid=$PROG_PID
out=$(hotthread -b -p "$pid"); rc=$?
is "thread-storm: exit 0" "$rc" 0
like "thread-storm: verdict says too many threads" "$(sed -n 1p <<<"$out")" \
	"^too many threads: [0-9]+ threads want to run on [0-9]+ CPUs"
like "thread-storm: and what they run" "$(sed -n 1p <<<"$out")" \
	"runs crunch_numbers"
check "thread-storm: json flags it" \
	jq -e '.too_many_threads and .contending_threads >= 8' <<<"$(hotthread -j -p "$pid")"
kill "$pid"

# --- idle: nothing is wrong, and nothing is stopped -------------------------
start_prog idle
pid=$PROG_PID
json=$(hotthread -j -p "$pid"); rc=$?
is "idle: exit 0" "$rc" 0
like "idle: no hot thread" "$(jq -r .verdict <<<"$json")" "^no hot thread"
is "idle: no thread was stopped" "$(jq -r '.stops' <<<"$json")" 0
kill "$pid"

# --- threads born and dying during the window -------------------------------
start_prog spin-worker --churn
pid=$PROG_PID
out=$(hotthread -b -p "$pid" 2>&1); rc=$?
is "churn: exit 0" "$rc" 0
like "churn: the spinner is still found" "$(sed -n 1p <<<"$out")" \
	"'worker-2' burns .* spin_inner"
sleep 0.2
unlike "churn: nothing left stopped" "$(proc_states "$pid")" "[tT]"
kill "$pid"

# --- the target exits during the window -------------------------------------
start_prog spin-worker --exit-after 400
pid=$PROG_PID
out=$(hotthread -b -d 2 -p "$pid" 2>"$SB_TMP/err"); rc=$?
is "exit mid-way: status 2" "$rc" 2
like "exit mid-way: said on stderr" "$(cat "$SB_TMP/err")" \
	"process $pid exited during the measurement"

# --- permission: another user, and another tracer ---------------------------
start_prog spin-worker
pid=$PROG_PID
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$SB_BIN/hotthread" -b -p "$pid" 2>"$SB_TMP/err"); rc=$?
	is "other user: status 2 (no stacks)" "$rc" 2
	like "other user: the CPU table is still shown" "$out" "worker-2 +R"
	like "other user: says who may ptrace whom" "$(cat "$SB_TMP/err")" \
		"permission denied: process $pid belongs to uid 0 and you are uid [0-9]+; ptrace needs the same user or CAP_SYS_PTRACE"
else
	for i in 1 2 3; do ok 0 "# SKIP other user: needs root and setpriv"; done
fi
if command -v strace >/dev/null; then
	strace -f -p "$pid" -o /dev/null 2>/dev/null &
	tracer=$!
	SB_PIDS="$SB_PIDS $tracer"
	sleep 0.5
	out=$(hotthread -b -p "$pid" 2>"$SB_TMP/err"); rc=$?
	is "already traced: status 2 (incomplete)" "$rc" 2
	like "already traced: the CPU table is still shown" "$out" "worker-2 +R"
	like "already traced: names the tracer" "$(cat "$SB_TMP/err")" \
		"already traced by $tracer 'strace'"
	kill "$tracer"
else
	for i in 1 2 3; do ok 0 "# SKIP already traced: no strace"; done
fi
kill "$pid"

# --- Ctrl-C and SIGTERM mid-window: report what was seen, leave it running --
start_prog spin-worker
pid=$PROG_PID
for sig in INT TERM; do
	hotthread -b -d 5 -p "$pid" >"$SB_TMP/out" 2>"$SB_TMP/err" &
	tool=$!
	sleep 1.5
	kill -$sig "$tool"
	wait "$tool"; rc=$?
	is "SIG$sig: status 2 (incomplete)" "$rc" 2
	like "SIG$sig: says the window is incomplete" "$(cat "$SB_TMP/err")" \
		"interrupted: the last window is incomplete"
	like "SIG$sig: still reports the hot thread" "$(head -1 "$SB_TMP/out")" \
		"'worker-2' burns .* spin_inner"
	sleep 0.2
	unlike "SIG$sig: target not left stopped" "$(proc_states "$pid")" "[tT]"
done
# Killed outright (no chance to clean up): SEIZE leaves nothing stopped.
hotthread -b -d 5 -p "$pid" >/dev/null 2>&1 &
tool=$!
sleep 1
kill -KILL "$tool"
{ wait "$tool"; } 2>/dev/null
sleep 0.2
unlike "SIGKILL of the tool: target not left stopped" "$(proc_states "$pid")" "[tT]"
out=$(hotthread -b -s 0 -p "$pid"); rc=$?
is "-s 0: exit 0" "$rc" 0
like "-s 0: still a verdict" "$(head -1 <<<"$out")" "'worker-2' burns"
like "-s 0: and says why there are no stacks" "$out" "not sampled \(sampling is off"
kill "$pid"

# --- bad input and usage ------------------------------------------------------
nopid=4194000
while [ -e /proc/$nopid ]; do nopid=$((nopid + 1)); done
out=$(hotthread -b -p $nopid 2>&1); rc=$?
is "no such process: status 2" "$rc" 2
is "no such process: message" "$out" "hotthread: no process $nopid"
out=$(hotthread -b -C no-such-program-xyz 2>&1); rc=$?
is "no process of that name: status 2" "$rc" 2
hotthread -d abc -p 1 >/dev/null 2>&1
is "bad number: status 64" "$?" 64
hotthread --bogus >/dev/null 2>&1
is "unknown option: status 64" "$?" 64
hotthread -h >/dev/null 2>&1
is "-h: status 0" "$?" 0
hotthread -n 1.5 -p 1 >/dev/null 2>&1
is "fractional count: status 64" "$?" 64

done_testing
