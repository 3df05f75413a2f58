#!/bin/bash
# leakwatch end to end: watch each memory-sick program grow (or not), and
# check the verdict, the rate against the program's known rate, the region,
# the limit and the time to reach it.
. "$(dirname "$0")/../lib.sh"

# within <name> <got> <want> <percent>
within() {
	if awk -v g="$2" -v w="$3" -v p="$4" \
		'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w != 0 && d <= w * p / 100) }'; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "got $2, want $3 within $4 %"
	fi
}

summary() { tail -1 <<<"$1"; }

# --- leak-connmgr: the notes' ConnectionManager, 425 600 B/s of heap ------
start_prog leak-connmgr
pid=$PROG_PID
json=$(leakwatch -j -d 0.5 -t 6 -p "$pid"); rc=$?
is "connmgr: exit 1 (leaking)" "$rc" 1
check "connmgr: a JSON object per sample" jq -e -s \
	'length >= 12 and all(.[:-1][]; .tool == "leakwatch" and .pid > 0 and
	 (.t_s | type) == "number" and .rss_bytes > 0 and
	 (.anon_bytes | type) == "number" and (.heap_bytes | type) == "number")' <<<"$json"
s=$(summary "$json")
is "connmgr: verdict" "$(jq -r .verdict <<<"$s")" leaking
within "connmgr: rate within 20 % of 425 600 B/s" "$(jq .growth_bytes_per_s <<<"$s")" 425600 20
check "connmgr: the growth is in the malloc heap (brk)" \
	jq -e '.growth_by_region.heap > 0.8 * (.growth_by_region | add)' <<<"$s"
check "connmgr: a good fit" jq -e '.fit.r2 > 0.9' <<<"$s"
# The census: a connection is a block of 4 112 and one of 144, 100 a second.
is "connmgr: the biggest growth is in blocks of 4 112 bytes" \
	"$(jq '.growth_by_size[0].block_bytes' <<<"$s")" 4112
is "connmgr: then blocks of 144 bytes" \
	"$(jq '.growth_by_size[1].block_bytes' <<<"$s")" 144
within "connmgr: +100 blocks of 4 112 a second, within 20 %" \
	"$(jq '.growth_by_size[0].blocks' <<<"$s")" \
	"$(jq '.duration_s * 100 | round' <<<"$s")" 20
check "connmgr: the census says how long the process was stopped" \
	jq -e '.census.before.stopped_ms > 0 and .census.after.stopped_ms > 0 and
	 .census.before.partial == false and .census.after.partial == false and
	 .census.glibc == "2.36"' <<<"$s"
out=$(leakwatch -d 0.5 -t 3 -p "$pid")
like "connmgr: text verdict" "$out" "^LEAKING: RSS grows [0-9.]+ KiB/s"
like "connmgr: where" "$out" "^where: heap \(brk\) \+[0-9.]+ (KiB|MiB)"
like "connmgr: a chart" "$out" "^ +[0-9.]+ (KiB|MiB) \|.*#"
like "connmgr: text census" "$out" \
	"^  \+[0-9 ]+ blocks of 4 112 bytes \(malloc of 4 089 to 4 104\): \+[0-9.]+ (KiB|MiB)"
like "connmgr: text stop time" "$out" "the process was stopped [0-9.]+ ms and [0-9.]+ ms"
kill "$pid"

# --- leak-cycle: reference cycles, 416 000 B/s ----------------------------
start_prog leak-cycle
pid=$PROG_PID
s=$(summary "$(leakwatch -j -d 0.5 -t 6 -p "$pid")")
is "cycle: verdict" "$(jq -r .verdict <<<"$s")" leaking
within "cycle: rate within 20 % of 416 000 B/s" "$(jq .growth_bytes_per_s <<<"$s")" 416000 20
is "cycle: the growth is in blocks of 1 040 bytes" \
	"$(jq '.growth_by_size[0].block_bytes' <<<"$s")" 1040
within "cycle: +400 blocks (200 pairs) a second, within 20 %" \
	"$(jq '.growth_by_size[0].blocks' <<<"$s")" \
	"$(jq '.duration_s * 400 | round' <<<"$s")" 20
kill "$pid"

# --- oom-slurp: one big realloc'd buffer, 2 MiB/s, anonymous memory -------
start_prog oom-slurp
pid=$PROG_PID
s=$(summary "$(leakwatch -j -d 0.5 -t 6 -p "$pid")")
is "slurp: verdict" "$(jq -r .verdict <<<"$s")" leaking
within "slurp: rate within 20 % of 2 MiB/s" "$(jq .growth_bytes_per_s <<<"$s")" 2097152 20
check "slurp: the growth is in anonymous mappings" \
	jq -e '.growth_by_region.anon > 0.8 * (.growth_by_region | add)' <<<"$s"
check "slurp: the census sees one mmapped block, grown" \
	jq -e '.growth_by_size[0].mmapped and .growth_by_size[0].block_bytes > 4194304 and
	 .census.after.mmapped_blocks == 1' <<<"$s"
like "slurp: the text says one block, mmapped" "$(leakwatch -d 0.5 -t 2 -p "$pid")" \
	"^  \+1 block of [0-9 ]+ bytes \(mmapped, malloc of [0-9.]+ MiB\): \+[0-9.]+ MiB"
check "slurp: a limit and a time to it" \
	jq -e '.limit_bytes > 0 and (.limit_source | type) == "string" and .time_to_limit_s > 0' <<<"$s"
kill "$pid"

# Under RLIMIT_AS: the limit named, the time to it within 30 %.
limit=$((400 * 1024 * 1024))
start_prog /bin/bash -c "ulimit -v $((limit / 1024)) && exec '$SB_TESTPROGS/oom-slurp'"
pid=$PROG_PID
s=$(summary "$(leakwatch -j -d 0.5 -t 6 -p "$pid")")
vsize=$(awk '/^VmSize/ { print $2 * 1024 }' /proc/"$pid"/status)
want=$(( (limit - vsize) / 2097152 ))
is "RLIMIT_AS: named as the limit" "$(jq -r .limit_source <<<"$s")" "RLIMIT_AS (ulimit -v)"
is "RLIMIT_AS: its size" "$(jq .limit_bytes <<<"$s")" "$limit"
within "RLIMIT_AS: time to limit within 30 % of ${want} s" "$(jq .time_to_limit_s <<<"$s")" "$want" 30
kill "$pid"

# Under a cgroup's memory.max, where this machine lets us make one.
cg=/sys/fs/cgroup/sickbay-test-$$
if mkdir "$cg" 2>/dev/null && [ -f "$cg/memory.current" ] &&
	echo $((300 * 1024 * 1024)) >"$cg/memory.max" 2>/dev/null; then
	start_prog oom-slurp
	pid=$PROG_PID
	if echo "$pid" >"$cg/cgroup.procs" 2>/dev/null; then
		s=$(summary "$(leakwatch -j -d 0.5 -t 6 -p "$pid")")
		cur=$(cat "$cg/memory.current")
		want=$(( (300 * 1024 * 1024 - cur) / 2097152 ))
		like "memory.max: named" "$(jq -r .limit_source <<<"$s")" "^memory.max of cgroup /sickbay-test-$$"
		within "memory.max: time to limit within 30 % of ${want} s" "$(jq .time_to_limit_s <<<"$s")" "$want" 30
	else
		ok 0 "# SKIP cannot move a process into a cgroup here"
		ok 0 "# SKIP cannot move a process into a cgroup here"
	fi
	kill "$pid"
	sleep 0.2
	rmdir "$cg" 2>/dev/null
else
	rmdir "$cg" 2>/dev/null
	ok 0 "# SKIP cannot create a cgroup with memory.max here"
	ok 0 "# SKIP cannot create a cgroup with memory.max here"
fi

# --- no false alarm --------------------------------------------------------
start_prog mem-sawtooth
pid=$PROG_PID
json=$(leakwatch -j -d 0.5 -t 14 -p "$pid"); rc=$?
is "sawtooth: exit 0" "$rc" 0
is "sawtooth: verdict" "$(jq -r .verdict <<<"$(summary "$json")")" sawtooth
check "sawtooth: not growing, no time to limit" \
	jq -e '.time_to_limit_s == null' <<<"$(summary "$json")"
kill "$pid"

start_prog mem-steady
pid=$PROG_PID
sleep 3 # its warm-up
json=$(leakwatch -j -d 0.5 -t 6 -p "$pid"); rc=$?
is "steady: exit 0" "$rc" 0
is "steady: verdict" "$(jq -r .verdict <<<"$(summary "$json")")" stable
check "steady: a whole census of five threads and their arenas, twice" \
	jq -e '.census.before.threads == 5 and .census.after.threads == 5 and
	 .census.before.arenas >= 2 and .census.before.partial == false and
	 .census.after.partial == false' <<<"$(summary "$json")"
check "steady: 40 000 mallocs a second: walked again while stopped" \
	jq -e '.census.before.walked_running == false and
	 .census.after.walked_running == false' <<<"$(summary "$json")"
kill "$pid"

# --- leakwatch run ---------------------------------------------------------
# To a file: the program keeps running with the same stdout, and a
# command substitution would wait for it.
leakwatch -t 3 -d 0.5 run -- "$SB_TESTPROGS/leak-connmgr" >"$SB_TMP/run.out" 2>"$SB_TMP/err"; rc=$?
out=$(cat "$SB_TMP/run.out")
is "run: exit 1 (leaking)" "$rc" 1
like "run: the verdict" "$out" "^LEAKING"
rpid=$(sed -n "s/.*the program (pid \([0-9]*\)) keeps running.*/\1/p" "$SB_TMP/err")
check "run: says the program keeps running" test -n "$rpid"
[ -n "$rpid" ] && kill "$rpid" 2>/dev/null

# The program's own output stays out of the JSON.
leakwatch -j -t 1 -d 0.5 run -- "$SB_TESTPROGS/leak-connmgr" >"$SB_TMP/run.json" 2>"$SB_TMP/err"
check "run -j: standard output is JSON only" jq -e -s 'length >= 2' "$SB_TMP/run.json"
like "run -j: the program's output went to standard error" "$(cat "$SB_TMP/err")" "^ready pid="
rpid=$(sed -n "s/.*the program (pid \([0-9]*\)) keeps running.*/\1/p" "$SB_TMP/err")
[ -n "$rpid" ] && kill "$rpid" 2>/dev/null

# --- the census where it cannot be, or is not wanted -----------------------
start_prog heap-shapes
pid=$PROG_PID
out=$(leakwatch -n 2 -d 0.2 -p "$pid"); rc=$?
is "shapes: exit 0" "$rc" 0
like "shapes: nothing grew" "$out" "^  no block size grew"
like "shapes: blocks counted" "$out" "^heap census \(glibc 2.36, found by libc's symbols\): 1 80[0-9] blocks in use"
check "shapes: an idle heap is walked while it runs, the stop only checks" \
	jq -e '.census.before.walked_running and .census.after.walked_running and
	 .census.before.blocks == .census.after.blocks' <<<"$(leakwatch -j -n 2 -d 0.2 -p "$pid" | tail -1)"
s=$(leakwatch -j -C -n 2 -d 0.2 -p "$pid" | tail -1)
check "--no-census: no census, no stop" jq -e '.census == null and .growth_by_size == null' <<<"$s"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SB_BIN/leakwatch" -n 2 -d 0.2 -p "$pid" 2>&1); rc=$?
is "another user: status 2" "$rc" 2
like "another user: why" "$out" "^leakwatch: permission denied: process $pid belongs to uid 0 and you are uid 65534; ptrace needs the same user or CAP_SYS_PTRACE"
# Under another tracer the process can be watched, not stopped.
strace -o /dev/null -p "$pid" 2>/dev/null &
tracer=$!
for _ in $(seq 100); do
	[ "$(awk '/^TracerPid/ { print $2 }' /proc/"$pid"/status)" = "$tracer" ] && break
	sleep 0.05
done
out=$(leakwatch -n 2 -d 0.2 -p "$pid"); rc=$?
is "traced: still watches (exit 0)" "$rc" 0
like "traced: the census refused, and why" "$out" "^no heap census: permission denied: process $pid is already traced by $tracer 'strace'"
kill "$tracer"; wait "$tracer" 2>/dev/null
kill "$pid"

start_prog crash-divide-static --delay 20000
pid=$PROG_PID
out=$(leakwatch -n 2 -d 0.2 -p "$pid"); rc=$?
is "static: exit 0" "$rc" 0
like "static: no census, and why" "$out" "^no heap census: no libc.so in process $pid \(statically linked"
kill "$pid"

# A glibc whose malloc layout is not known: this one, its banner saying 2.99.
mkdir -p "$SB_TMP/lib"
libc=$(ldd "$SB_TESTPROGS/heap-shapes" | awk '/libc.so.6/ { print $3 }')
perl -pe 's/release version 2\.36/release version 2.99/g' "$libc" >"$SB_TMP/lib/libc.so.6"
start_prog /usr/bin/env LD_LIBRARY_PATH="$SB_TMP/lib" "$SB_TESTPROGS/heap-shapes"
pid=$PROG_PID
out=$(leakwatch -n 2 -d 0.2 -p "$pid"); rc=$?
is "glibc 2.99: still watches (exit 0)" "$rc" 0
like "glibc 2.99: the census refused politely" "$out" \
	"^no heap census: process $pid runs glibc 2.99: the census knows the malloc layout of glibc 2.36 only"
kill "$pid"

# Another allocator in front of glibc's, as jemalloc or tcmalloc would be.
# -fno-builtin: malloc then memset must not become a call to calloc itself.
cc -shared -fPIC -O0 -fno-builtin -o "$SB_TMP/libbump.so" "$(dirname "$0")/bump-malloc.c"
start_prog /usr/bin/env LD_PRELOAD="$SB_TMP/libbump.so" "$SB_TESTPROGS/leak-cycle"
pid=$PROG_PID
out=$(leakwatch -n 7 -d 0.5 -p "$pid"); rc=$?
is "another malloc: still judged (exit 1, leaking)" "$rc" 1
like "another malloc: no census, and why" "$out" \
	"^no heap census: malloc in process $pid is $SB_TMP/libbump.so's, not glibc's"
kill "$pid"

# A heap an overflow has damaged: the census stops at the damage, says
# where, counts what came before, and the watch goes on.
start_prog heap-smash
pid=$PROG_PID
out=$(leakwatch -n 2 -d 0.2 -p "$pid"); rc=$?
is "smash: still judged (exit 0)" "$rc" 0
like "smash: the damaged chunk named" "$out" \
	"^  census at the start incomplete: the chunk at 0x[0-9a-f]+ claims 0x7fffffff0 bytes, past its heap's end 0x[0-9a-f]+: the heap is damaged"
check "smash: the blocks before it counted, the problem in JSON" jq -e '
	.census.before.partial and (.census.before.problem | test("claims 0x7fffffff0")) and
	.census.before.blocks >= 10' <<<"$(leakwatch -j -n 2 -d 0.2 -p "$pid" | tail -1)"
check "smash: the process lives on" kill -0 "$pid"
kill "$pid"

# --- bad input ------------------------------------------------------------
nopid=4194000
while [ -e /proc/$nopid ]; do nopid=$((nopid + 1)); done
out=$(leakwatch -t 1 -p $nopid 2>&1); rc=$?
is "no such process: status 2" "$rc" 2
is "no such process: message" "$out" "leakwatch: no process $nopid"
sleep 1 &
short=$!
out=$(leakwatch -d 0.3 -t 3 -p "$short" 2>&1); rc=$?
is "exits mid-watch: status 2" "$rc" 2
like "exits mid-watch: said" "$out" "process $short exited during the watch"
leakwatch >/dev/null 2>&1
is "nothing to watch: status 64" "$?" 64
leakwatch -d x -p 1 >/dev/null 2>&1
is "bad number: status 64" "$?" 64
leakwatch -n 2.5 -p 1 >/dev/null 2>&1
is "a fractional count: status 64" "$?" 64

done_testing
