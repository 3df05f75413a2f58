#!/bin/bash
# lockgraph end to end: hang each sick program for real, and check the cycle,
# the lock and thread names, the verdict, the JSON and the exit status.
. "$(dirname "$0")/../lib.sh"

TP=$SB_TOP/testprogs

# look <program> [args]: start it hung, run lockgraph text and JSON on it
look() {
	start_prog "$@"
	pid=$PROG_PID
	out=$(lockgraph -p "$pid" 2>"$SB_TMP/err"); rc=$?
	json=$(lockgraph -j -p "$pid" 2>/dev/null); jrc=$?
}

look deadlock-abba
is "abba: exit 1 (deadlock)" "$rc" 1
is "abba: json exit 1" "$jrc" 1
like "abba: verdict first" "$(sed -n 1p <<<"$out")" "^DEADLOCK: 2 threads wait for each other$"
like "abba: transfer waits for ledger_lock held by audit" "$out" \
	"thread $(thread_tid "$pid" transfer) 'transfer' waits for ledger_lock \(default mutex\), held by thread $(thread_tid "$pid" audit) 'audit'"
like "abba: audit waits for accounts_lock held by transfer" "$out" \
	"thread $(thread_tid "$pid" audit) 'audit' waits for accounts_lock \(default mutex\), held by thread $(thread_tid "$pid" transfer) 'transfer'"
like "abba: where each waits" "$out" "transfer_funds\+0x[0-9a-f]+ \(deadlock-abba.c:[0-9]+\)"
like "abba: the scenario" "$out" "^ +lock\(accounts_lock\);$"
check "abba: json" jq -e '.tool == "lockgraph" and (.version | type) == "string" and
	.deadlocked and (.cycles | length) == 1 and (.cycles[0] | length) == 2 and
	([.cycles[0][].waits_for.name] | sort) == ["accounts_lock", "ledger_lock"] and
	([.cycles[0][].thread_name] | sort) == ["audit", "transfer"] and
	all(.cycles[0][]; .waits_for.type == "mutex" and (.held_by_tid | type) == "number" and
	    (.waits_for.addr | test("^0x[0-9a-f]+$")) and (.stack | length) > 2)' <<<"$json"
check "abba: the idle threads are not in the cycle" \
	jq -e '[.blocked_threads[].thread_name] | index("idle-1") != null' <<<"$json"
lockgraph --dot "$SB_TMP/g.dot" -p "$pid" >/dev/null
like "abba: --dot draws the cycle in red" "$(cat "$SB_TMP/g.dot")" \
	"accounts_lock.*color=red"
sleep 0.2
is "abba: the target is left as it was (blocked, never 't')" \
	"$(proc_states "$pid" | tr -d S)" ""
kill "$pid"

look deadlock-self
is "self: exit 1" "$rc" 1
like "self: says it already holds it" "$(sed -n 1p <<<"$out")" \
	"^DEADLOCK: thread $(thread_tid "$pid" reloader) 'reloader' waits for config_lock, which it already holds \(a default mutex is not recursive\) in apply_settings \(deadlock-self.c:$(line_of "$TP/deadlock-self.c" WAIT-LINE)\)$"
check "self: json, a cycle of one" jq -e '.deadlocked and (.cycles[0] | length) == 1 and
	.cycles[0][0].held_by_tid == .cycles[0][0].tid' <<<"$json"
kill "$pid"

look deadlock-dining -n 5
is "dining: exit 1" "$rc" 1
like "dining: five threads in the cycle" "$(sed -n 1p <<<"$out")" "^DEADLOCK: 5 threads wait for each other$"
check "dining: every fork, every philosopher" jq -e '(.cycles[0] | length) == 5 and
	([.cycles[0][].thread_name] | sort) == ["philo-0","philo-1","philo-2","philo-3","philo-4"] and
	([.cycles[0][].waits_for.name] | unique | length) == 5' <<<"$json"
like "dining: array elements named by offset" "$out" "forks\+0x28"
kill "$pid"

look deadlock-rwlock
is "rwlock: exit 1" "$rc" 1
check "rwlock: a mutex and an rwlock held by a writer" jq -e '
	([.cycles[0][].waits_for.type] | sort) == ["mutex", "rwlock (read)"] and
	([.cycles[0][].waits_for.name] | sort) == ["stats_lock", "table_lock"]' <<<"$json"
kill "$pid"

look deadlock-join
is "join: exit 1" "$rc" 1
check "join: the joiner waits for the thread, which waits for its lock" jq -e '
	([.cycles[0][].waits_for.type] | sort) == ["mutex", "thread join"] and
	([.cycles[0][] | select(.waits_for.type == "mutex") | .waits_for.name] == ["shutdown_lock"])' <<<"$json"
kill "$pid"

look hang-condvar
is "condvar: exit 1 (hung)" "$rc" 1
like "condvar: hung, nobody runnable, who waits where" "$(sed -n 1p <<<"$out")" \
	"^hung: no thread can run; .*2 threads wait on condition variable not_empty in take_item \(hang-condvar.c:[0-9]+\)"
check "condvar: json hung, not deadlocked" jq -e '.hung and (.deadlocked | not) and
	([.blocked_threads[] | select(.waits_for.name == "not_empty")] | length) == 2' <<<"$json"
kill "$pid"

look hang-orphan
is "orphan: exit 1" "$rc" 1
like "orphan: the lock's owner has exited" "$(sed -n 1p <<<"$out")" \
	"^pool_lock is held by thread [0-9]+, which has exited; 3 threads wait for it forever$"
check "orphan: json" jq -e '.hung and (.orphaned_locks | length) == 3 and
	all(.orphaned_locks[]; .name == "pool_lock")' <<<"$json"
kill "$pid"

look lock-contention
is "contention: exit 0, no false alarm" "$rc" 0
like "contention: no deadlock" "$(sed -n 1p <<<"$out")" "^no deadlock: [0-9]+ threads"
check "contention: json" jq -e '(.deadlocked | not) and (.hung | not) and (.cycles | length) == 0' <<<"$json"
kill "$pid"

look idle
is "idle: threads asleep or reading are not a hang (exit 0)" "$rc" 0
like "idle: no deadlock" "$(sed -n 1p <<<"$out")" "^no deadlock"
kill "$pid"

# --- from a core of a hung process -----------------------------------------
if command -v gcore >/dev/null; then
	start_prog deadlock-abba
	pid=$PROG_PID
	gcore -o "$SB_TMP/hung" "$pid" >/dev/null 2>&1
	kill "$pid"
	out=$(lockgraph "$SB_TMP/hung.$pid" 2>&1); rc=$?
	is "gcore: exit 1" "$rc" 1
	like "gcore: the same cycle from the core" "$out" \
		"waits for ledger_lock \(default mutex\), held by thread [0-9]+"
	like "gcore: both locks" "$out" "waits for accounts_lock \(default mutex\)"
	rm -f "$SB_TMP/hung.$pid"
else
	for i in 1 2 3; do ok 0 "# SKIP gcore not installed"; done
fi

# --- bad input ----------------------------------------------------------
nopid=4194000
while [ -e /proc/$nopid ]; do nopid=$((nopid + 1)); done
out=$(lockgraph -p $nopid 2>&1); rc=$?
is "no such process: status 2" "$rc" 2
is "no such process: message" "$out" "lockgraph: no process $nopid"
printf 'text\n' >"$SB_TMP/text"
out=$(lockgraph "$SB_TMP/text" 2>&1); rc=$?
is "not a core: status 2" "$rc" 2
like "not a core: says so" "$out" "is not an ELF file"
lockgraph >/dev/null 2>&1
is "nothing to look at: status 64" "$?" 64
lockgraph -p 1 "$SB_TMP/text" >/dev/null 2>&1
is "both a pid and a core: status 64" "$?" 64
# A process that exits while it is looked at.
sleep 0.1 &
short=$!
out=$(lockgraph -p "$short" 2>&1); rc=$?
check "a process exiting mid-way: status 0 or 2, never a crash" test "$rc" = 0 -o "$rc" = 2

done_testing
