# lib.sh: TAP helpers for end-to-end tests; sourced by tests/e2e/*.t.
#
# A test starts a sick program with start_prog, which waits for its one line
# "ready pid=<n>", points a tool at it, and checks what the tool says. Every
# program started here is killed by the EXIT trap, whatever happens.

export LC_ALL=C
: "${SB_TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SB_BIN:=$SB_TOP/build/bin}"
: "${SB_TESTPROGS:=$SB_TOP/build/testprogs}"
export PATH="$SB_BIN:$PATH"

TAP_N=0
TAP_FAILED=0
SB_PIDS=""
SB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sickbay-test.XXXXXX")

sb_cleanup() {
	for p in $SB_PIDS; do
		kill -CONT "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$SB_TMP"
}
trap sb_cleanup EXIT
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
diag() { printf '# %s\n' "$@" | sed '2,$s/^/# /'; }

ok() { # ok <status> <name>
	TAP_N=$((TAP_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# check <name> <command...>: run the command, pass when it succeeds
check() {
	local name=$1
	shift
	if "$@" >/dev/null; then ok 0 "$name"; else ok 1 "$name"; fi
}

# like <name> <text> <extended regex>
like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "expected to match: $3" "got:" "$2"
	fi
}

# unlike <name> <text> <extended regex>
unlike() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok 1 "$1"
		diag "expected not to match: $3" "got:" "$2"
	else
		ok 0 "$1"
	fi
}

# is <name> <got> <want>
is() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diag "got:  '$2'" "want: '$3'"
	fi
}

# start_prog <name|path> [args...]: start a sick program, wait for its
# "ready pid=N", set PROG_PID. Bails out if it never gets ready.
start_prog() {
	local prog=$1 out i
	shift
	case $prog in */*) ;; *) prog=$SB_TESTPROGS/$prog ;; esac
	out="$SB_TMP/${prog##*/}.$$.$RANDOM.out"
	: >"$out"
	"$prog" "$@" >"$out" 2>&1 &
	SB_PIDS="$SB_PIDS $!"
	PROG_PID=""
	for i in $(seq 1 200); do
		PROG_PID=$(sed -n 's/^ready pid=\([0-9]*\)$/\1/p' "$out" | head -1)
		[ -n "$PROG_PID" ] && return 0
		sleep 0.05
	done
	echo "Bail out! $prog did not print 'ready pid=' in 10 s: $(cat "$out")"
	exit 1
}

# line_of <file> <marker>: the number of the line marked /* marker */
line_of() { grep -n -F -- "/* $2 */" "$1" | head -1 | cut -d: -f1; }

# thread_tid <pid> <name>: the TID of the thread called name
thread_tid() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ]; then
			basename "$t"
			return 0
		fi
	done
	return 1
}

# proc_state <pid>: the state letter of every thread, e.g. "SSRS"
proc_states() { cat /proc/"$1"/task/*/stat 2>/dev/null | sed 's/.*) \(.\).*/\1/' | tr -d '\n'; }

# done_testing: the plan comes last, so a script that dies half-way has
# none and fails.
done_testing() {
	echo "1..$TAP_N"
	echo "# $TAP_FAILED of $TAP_N failed"
	[ "$TAP_FAILED" = 0 ]
}
