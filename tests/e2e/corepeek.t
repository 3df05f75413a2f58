#!/bin/bash
# corepeek end to end: crash each sick program for real, read its core, and
# check the cause, the function and line, the abort message and the JSON.
. "$(dirname "$0")/../lib.sh"

TP=$SB_TOP/testprogs
pattern=$(cat /proc/sys/kernel/core_pattern)
case $pattern in
'|'*) skip_all "core_pattern pipes cores to ${pattern#|}; cores cannot be collected here" ;;
/*) skip_all "core_pattern writes cores to a fixed place ($pattern)" ;;
esac
ulimit -c unlimited 2>/dev/null || skip_all "cannot raise ulimit -c"

# crash <dir> <program> [args]: run it in dir until it dies; leave the core
# there as dir/core.  Prints the program's pid.
crash() {
	local dir=$1 prog=$2 f
	shift 2
	mkdir -p "$dir"
	case $prog in */*) ;; *) prog=$SB_TESTPROGS/$prog ;; esac
	# The outer subshell swallows bash's "Segmentation fault" line.
	( (cd "$dir" && exec "$prog" --delay 0 "$@") >"$dir/out" 2>&1; true ) 2>/dev/null
	sed -n 's/^ready pid=//p' "$dir/out"
	for f in "$dir"/core "$dir"/core.*; do
		[ -f "$f" ] && [ "$f" != "$dir/core" ] && mv "$f" "$dir/core"
	done
}

# A core for each program, then what corepeek says of it.
declare -A out json rc
for p in crash-null crash-null-call crash-readonly crash-assert \
	crash-double-free crash-divide crash-stack-overflow \
	crash-null-O2-stripped; do
	pid=$(crash "$SB_TMP/$p" "$p")
	if [ ! -s "$SB_TMP/$p/core" ]; then
		echo "Bail out! $p left no core in $SB_TMP/$p (pattern '$pattern')"
		exit 1
	fi
	out[$p]=$(corepeek "$SB_TMP/$p/core" 2>"$SB_TMP/$p/err"); rc[$p]=$?
	json[$p]=$(corepeek -j "$SB_TMP/$p/core" 2>/dev/null)
done

line() { line_of "$TP/$1.c" CRASH-LINE; }
first() { sed -n 1p <<<"${out[$1]}"; }

p=crash-null
is "$p: exit 0" "${rc[$p]}" 0
like "$p: verdict first, with function and line" "$(first $p)" \
	"^NULL pointer dereference: thread [0-9]+ accessed address 0x10 \(offset 0x10 from NULL\) in read_field \(crash-null.c:$(line $p)\)$"
check "$p: json cause, signal, code, address" jq -e '
	.cause == "null-deref" and .signal.name == "SIGSEGV" and
	.signal.number == 11 and .signal.code == "SEGV_MAPERR" and
	.signal.addr == "0x10"' <<<"${json[$p]}"
check "$p: json has tool, version, pid, executable, signature" jq -e '
	.tool == "corepeek" and (.version | type) == "string" and
	(.pid | type) == "number" and (.executable | endswith("crash-null")) and
	(.signature | test("^[0-9a-f]{16}$"))' <<<"${json[$p]}"
check "$p: the crashed thread's stack" jq -e --argjson l "$(line $p)" '
	.crashed_thread.stack[0] | .function == "read_field" and .line == $l' <<<"${json[$p]}"
check "$p: the crashed thread is not the main one" \
	jq -e '.crashed_thread.tid != .pid' <<<"${json[$p]}"
check "$p: the whole chain" jq -e '[.crashed_thread.stack[].function] |
	.[0:4] == ["read_field", "parse_header", "parse_request", "parser_main"]' <<<"${json[$p]}"
check "$p: all 51 threads" jq -e '.threads | length == 51' <<<"${json[$p]}"
like "$p: the 49 pool threads grouped in one line" "${out[$p]}" \
	"^ +49 (x|×) .*pthread_cond_wait (<-|←) wait_for_work (<-|←) pool_main"
check "$p: the report fits in about 40 lines" \
	test "$(wc -l <<<"${out[$p]}")" -le 40
is "$p: -a shows every thread" \
	"$(corepeek -a "$SB_TMP/$p/core" | grep -c '^thread [0-9]*')" 50

p=crash-null-call
is "$p: exit 0" "${rc[$p]}" 0
like "$p: names the caller from the return address" "$(first $p)" \
	"^call through a NULL function pointer \(0x0\) by thread [0-9]+ 'crash-null-call', from invoke_handler \(crash-null-call.c:$(line $p)\)$"
check "$p: json" jq -e '.cause == "null-call" and .signal.addr == "0x0" and
	.crashed_thread.stack[1].function == "invoke_handler" and
	.crashed_thread.stack[2].function == "dispatch_event"' <<<"${json[$p]}"

p=crash-readonly
is "$p: exit 0" "${rc[$p]}" 0
like "$p: names the section and module" "$(first $p)" \
	"^write to read-only memory at 0x[0-9a-f]+ \(.rodata of crash-readonly\) by thread [0-9]+ 'crash-readonly' in patch_config \(crash-readonly.c:$(line $p)\)$"
check "$p: json" jq -e '.cause == "write-to-readonly" and .signal.code == "SEGV_ACCERR"' <<<"${json[$p]}"

p=crash-assert
is "$p: exit 0" "${rc[$p]}" 0
like "$p: the assertion, where, and what" "$(first $p)" \
	"^assertion failed in check_invariants \(crash-assert.c:[0-9]+\): queue->count <= queue->capacity"
check "$p: json abort message from __abort_msg" jq -e '.cause == "assertion" and
	(.abort_message | test("crash-assert.c:[0-9]+: check_invariants: Assertion `.*'"'"' failed"))' <<<"${json[$p]}"
like "$p: sent by itself" "${out[$p]}" "SIGABRT \(Aborted, SI_TKILL\) sent by the process itself"

p=crash-double-free
is "$p: exit 0" "${rc[$p]}" 0
like "$p: glibc's words and the program's line" "$(first $p)" \
	"^heap corruption: glibc said \"free\(\): double free detected in tcache 2\" in release_buffer \(crash-double-free.c:[0-9]+\)$"
check "$p: json" jq -e '.cause == "heap-corruption" and .abort_message == "free(): double free detected in tcache 2"' <<<"${json[$p]}"

p=crash-divide
is "$p: exit 0" "${rc[$p]}" 0
like "$p: verdict" "$(first $p)" \
	"^integer divide by zero in thread [0-9]+ 'crash-divide' in compute_average \(crash-divide.c:$(line $p)\)$"
check "$p: json" jq -e '.cause == "divide-by-zero" and .signal.name == "SIGFPE" and .signal.code == "FPE_INTDIV"' <<<"${json[$p]}"

p=crash-stack-overflow
is "$p: exit 0" "${rc[$p]}" 0
like "$p: the recursion counted" "$(first $p)" \
	"^stack overflow in thread [0-9]+ '[^']*': walk_tree calls itself [0-9]{4,} times \(crash-stack-overflow.c:[0-9]+\)$"
like "$p: collapsed in the stack" "${out[$p]}" "\.\.\. walk_tree (x|×) [0-9]{5,} \(#1 to #[0-9]+\)"
check "$p: the stack reaches main" jq -e '[.crashed_thread.stack[].function] | index("main") != null and index("run_walk") != null' <<<"${json[$p]}"
check "$p: the report stays short" test "$(wc -l <<<"${out[$p]}")" -le 20
check "$p: json collapses it too: first, repeated, last, then run_walk" jq -e '
	.crashed_thread.stack as $s | ($s | length) < 20 and
	$s[0].function == "walk_tree" and ($s[0] | has("repeat") | not) and
	$s[1].function == "walk_tree" and $s[1].repeat > 10000 and
	$s[2].function == "walk_tree" and $s[3].function == "run_walk"' <<<"${json[$p]}"
check "$p: the json stays small" test "$(wc -c <<<"${json[$p]}")" -le 65536

p=crash-null-O2-stripped
is "$p: exit 0" "${rc[$p]}" 0
check "$p: still a NULL dereference at 0x10" jq -e '.cause == "null-deref" and .signal.addr == "0x10"' <<<"${json[$p]}"
check "$p: its own frames unnamed, never a neighbour's name" jq -e '
	[.crashed_thread.stack[] | select(.module | endswith("crash-null-O2-stripped")) | .function] |
	length >= 3 and all(. == null)' <<<"${json[$p]}"
like "$p: module+offset with build-id" "${out[$p]}" \
	"crash-null-O2-stripped\+0x[0-9a-f]+ \(build-id [0-9a-f]{40}\)"

# Signatures group the same crash, tell different ones apart.
d2=$SB_TMP/again
crash "$d2" crash-null >/dev/null
is "the same crash twice: the same signature" \
	"$(corepeek -j "$d2/core" | jq -r .signature)" \
	"$(jq -r .signature <<<"${json[crash-null]}")"
unlike "different crashes: different signatures" \
	"$(jq -r .signature <<<"${json[crash-divide]}")" \
	"$(jq -r .signature <<<"${json[crash-null]}")"

# --- killed by another process ---------------------------------------------
start_prog idle
kpid=$PROG_PID
kdir=$(readlink /proc/$kpid/cwd)
kill -SEGV "$kpid"
{ wait "$kpid"; } 2>/dev/null
kcore=$kdir/core
[ -f "$kdir/core.$kpid" ] && kcore=$kdir/core.$kpid
if [ -f "$kcore" ]; then
	kjson=$(corepeek -j "$kcore" 2>/dev/null)
	check "killed: cause killed, sender is this shell" jq -e --argjson s "$$" \
		'.cause == "killed" and .signal.sender_pid == $s' <<<"$kjson"
	like "killed: says who sent it" "$(jq -r .summary <<<"$kjson")" \
		"^killed by SIGSEGV, sent by pid $$ \(uid $(id -u)\)"
	rm -f "$kcore"
else
	ok 1 "killed: no core in $kdir"
	ok 1 "killed: no core"
fi

# --- the executable moved, or was replaced --------------------------------
mv_dir=$SB_TMP/moved
mkdir -p "$mv_dir/bin"
cp "$SB_TESTPROGS/crash-divide" "$mv_dir/bin/crash-divide"
crash "$mv_dir" "$mv_dir/bin/crash-divide" >/dev/null
mv "$mv_dir/bin/crash-divide" "$mv_dir/crash-divide.moved"
o=$(corepeek "$mv_dir/core" 2>"$mv_dir/err"); r=$?
is "moved: status 2 (incomplete)" "$r" 2
like "moved: says what is missing and suggests -e" "$(cat "$mv_dir/err")" \
	"cannot read '$mv_dir/bin/crash-divide'.*give it with -e"
o=$(corepeek -e "$mv_dir/crash-divide.moved" "$mv_dir/core" 2>&1); r=$?
is "moved, with -e: status 0" "$r" 0
like "moved, with -e: named again" "$(sed -n 1p <<<"$o")" "in compute_average \(crash-divide.c:[0-9]+\)"
# Same path, other file: the names would be wrong, so none are given.
cp "$SB_TESTPROGS/crash-null-call" "$mv_dir/bin/crash-divide"
o=$(corepeek -j "$mv_dir/core" 2>"$mv_dir/err"); r=$?
is "replaced: status 2" "$r" 2
like "replaced: says the build-ids differ" "$(cat "$mv_dir/err")" \
	"is not the file that crashed \(build-id [0-9a-f]+ in the core, [0-9a-f]+ on disk\)"
check "replaced: no wrong names for its frames" jq -e '
	[.crashed_thread.stack[] | select(.module | endswith("bin/crash-divide")) | .function] |
	length > 0 and all(. == null)' <<<"$o"

# A core from "another machine": the files are found under --sysroot.
sr=$SB_TMP/sysroot
mkdir -p "$sr$mv_dir/bin"
cp "$mv_dir/crash-divide.moved" "$sr$mv_dir/bin/crash-divide"
o=$(corepeek --sysroot "$sr" "$mv_dir/core" 2>"$mv_dir/err"); r=$?
like "--sysroot: the executable found under it, named" "$(sed -n 1p <<<"$o")" \
	"in compute_average \(crash-divide.c:[0-9]+\)"
unlike "--sysroot: no complaint about the executable" "$(cat "$mv_dir/err")" \
	"bin/crash-divide"

# --- bad input ----------------------------------------------------------
core=$SB_TMP/crash-divide/core
printf 'not a core\n' >"$SB_TMP/text"
o=$(corepeek "$SB_TMP/text" 2>&1); r=$?
is "text file: status 2" "$r" 2
is "text file: message" "$o" "corepeek: '$SB_TMP/text' is not an ELF file"
: >"$SB_TMP/empty"
o=$(corepeek "$SB_TMP/empty" 2>&1); r=$?
is "empty file: status 2" "$r" 2
o=$(corepeek "$SB_TESTPROGS/crash-divide" 2>&1); r=$?
is "an executable: status 2" "$r" 2
like "an executable: not a core" "$o" "is an ELF file but not a core dump"
o=$(corepeek "$SB_TMP/no-such-core" 2>&1); r=$?
is "missing file: status 2" "$r" 2
like "missing file: says so" "$o" "cannot open '$SB_TMP/no-such-core': No such file or directory"
# Cut after the notes: the report is still given, and the cut is named.
size=$(stat -c %s "$core")
head -c $((size / 2)) "$core" >"$SB_TMP/truncated"
o=$(corepeek "$SB_TMP/truncated" 2>"$SB_TMP/err"); r=$?
is "truncated: status 2" "$r" 2
like "truncated: says how much is missing" "$(cat "$SB_TMP/err")" \
	"truncated \(file [0-9]+ [KM]?B|bytes, its segments claim [0-9]+ [KM]?B|bytes\)|is truncated"
like "truncated: still names the cause" "$(sed -n 1p <<<"$o")" "integer divide by zero"
head -c 700 "$core" >"$SB_TMP/headers-only"
o=$(corepeek "$SB_TMP/headers-only" 2>&1); r=$?
is "cut inside the notes: status 2" "$r" 2
like "cut inside the notes: a clear message" "$o" "notes that cannot be read|no thread"
# A note that claims to be huge.
python3 - "$core" "$SB_TMP/absurd" <<'EOF'
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read(1 << 20))
phoff, = struct.unpack_from('<Q', data, 0x20)
phnum, = struct.unpack_from('<H', data, 0x38)
for i in range(phnum):
    p = phoff + i * 56
    if struct.unpack_from('<I', data, p)[0] == 4:      # PT_NOTE
        off, = struct.unpack_from('<Q', data, p + 8)
        struct.pack_into('<I', data, off + 4, 0x7ffffff0)  # n_descsz
        break
open(sys.argv[2], 'wb').write(data)
EOF
o=$(timeout 10 corepeek "$SB_TMP/absurd" 2>&1); r=$?
is "absurd note size: status 2, no crash, no hang" "$r" 2
like "absurd note size: a clear message" "$o" "notes that cannot be read|no thread"

# --- corepeek run: catch the crash as it happens --------------------------
rdir=$SB_TMP/run
mkdir -p "$rdir/reports"
cd "$rdir" || exit 1
corepeek run -j -o "$rdir/reports" -- "$SB_TESTPROGS/crash-null" --delay 0 \
	>"$rdir/out" 2>"$rdir/err"; r=$?
is "run crash-null: the program's own status (SIGSEGV)" "$r" 139
like "run crash-null: the program's stdout untouched" "$(cat "$rdir/out")" "^ready pid=[0-9]+$"
rpid=$(sed -n 's/^ready pid=//p' "$rdir/out")
rjson=$(cat "$rdir/reports/corepeek-$rpid.json" 2>/dev/null)
check "run crash-null: -o wrote the JSON report" jq -e . <<<"$rjson"
check "run crash-null: live, the thread has its name" jq -e '
	.cause == "null-deref" and .crashed_thread.name == "parser" and
	.crashed_thread.stack[0].function == "read_field" and
	(.threads | length) == 51 and
	([.threads[].name | select(. != null and startswith("pool-"))] | length) == 49' <<<"$rjson"
like "run crash-null: said it died, core dumped" "$(cat "$rdir/err")" \
	"'.*crash-null' died of SIGSEGV \(core dumped\)"
check "run crash-null: the kernel still dumped its core" test -s "$rdir/core"
if [ -s "$rdir/core" ]; then
	is "run crash-null: the core gives the same signature" \
		"$(corepeek -j "$rdir/core" | jq -r .signature)" \
		"$(jq -r .signature <<<"$rjson")"
	rm -f "$rdir/core"
else
	ok 1 "run crash-null: no core to compare"
fi
corepeek run -- "$SB_TESTPROGS/crash-assert" --delay 0 >/dev/null 2>"$rdir/err"; r=$?
is "run crash-assert: status 134 (SIGABRT)" "$r" 134
like "run crash-assert: verdict on stderr" "$(grep -m1 '^assertion' "$rdir/err")" \
	"^assertion failed in check_invariants \(crash-assert.c:[0-9]+\)"
corepeek run -- "$SB_TESTPROGS/crash-stack-overflow" --delay 0 >/dev/null 2>"$rdir/err"; r=$?
is "run stack overflow: status 139" "$r" 139
like "run stack overflow: caught on the overflowing stack" "$(cat "$rdir/err")" \
	"^stack overflow in thread [0-9]+ 'crash-stack-ove': walk_tree calls itself [0-9]{4,} times"
corepeek run -- "$SB_TESTPROGS/crash-divide-static" --delay 0 >/dev/null 2>"$rdir/err"; r=$?
is "run a static binary: status 136 (SIGFPE)" "$r" 136
like "run a static binary: named" "$(cat "$rdir/err")" \
	"^integer divide by zero in thread [0-9]+ '[^']*' in compute_average \(crash-divide.c:[0-9]+\)"
rm -f "$rdir"/core*
corepeek run -- sh -c 'exit 3' >/dev/null 2>"$rdir/err"; r=$?
is "run, no crash: the program's exit status" "$r" 3
is "run, no crash: nothing said" "$(cat "$rdir/err")" ""
corepeek run -- sh -c 'kill -TERM $$' >/dev/null 2>"$rdir/err"; r=$?
is "run, killed by SIGTERM: 128 + 15" "$r" 143
corepeek run -- /no/such/program >/dev/null 2>"$rdir/err"; r=$?
is "run, no such program: 127" "$r" 127
like "run, no such program: says so" "$(cat "$rdir/err")" "cannot run '/no/such/program': No such file or directory"
cd "$SB_TMP" || exit 1

corepeek >/dev/null 2>&1
is "no core given: status 64" "$?" 64
corepeek --bogus x >/dev/null 2>&1
is "unknown option: status 64" "$?" 64

# corepeek run hands the program SIGINT as it found it: ignored stays ignored
# (a job started with nohup or from a script that traps it).
out=$( (trap '' INT; corepeek run -- sh -c 'kill -INT $$; echo survived') 2>&1); rc=$?
is "run: an ignored SIGINT stays ignored in the program" "$out" survived
is "run: and it exits 0" "$rc" 0
out=$(corepeek run -- sh -c 'kill -INT $$; echo survived' 2>&1); rc=$?
is "run: a default SIGINT stays default (killed, 130)" "$rc" 130

corepeek --output /tmp core >/dev/null 2>&1
is "--output without run: status 64" "$?" 64
corepeek run --sysroot / -- true >/dev/null 2>&1
is "--sysroot with run: status 64" "$?" 64

done_testing
