#!/bin/bash
# make demo: run each sick program and the tool that diagnoses it.
. "$(dirname "$0")/lib.sh"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$(printf '\033[1m') off=$(printf '\033[0m')
else
	bold= off=
fi
banner() { printf '\n%s=== %s ===%s\n%s\n\n' "$bold" "$1" "$off" "$2"; }

demo() { # demo <title> <what the notes say> <program> [args] -- <tool args>
	local title=$1 story=$2 prog=$3
	shift 3
	banner "$title" "$story"
	start_prog "$prog"
	echo "\$ $prog &            # ready pid=$PROG_PID"
	echo "\$ hotthread -b -p $PROG_PID"
	hotthread -b -p "$PROG_PID"
	kill "$PROG_PID"
}

demo "1. CPU usage too high" \
"The notes: top, then top -H -p PID, then pstack/gdb. One command instead:" \
	spin-worker
demo "1b. ... in system time" \
"A thread that burns its CPU inside the kernel:" \
	spin-syscall
demo "1c. ... inside the vDSO" \
"A thread spinning on clock_gettime: the stack must leave the vDSO:" \
	spin-vdso
demo "1d. ... in a stripped -O2 build" \
"No symbols: frames are module+offset with the build-id, never a wrong name:" \
	spin-worker-O2-stripped
demo "2. Too many threads" \
"The notes: too many threads make performance fall through context switches:" \
	thread-storm
demo "Control: an idle process" \
"Nothing is wrong, and nothing is stopped:" \
	idle

# leakwatch exits 1 when the process leaks: that is the finding, so the
# demo says so and goes on.
leakdemo() { # leakdemo <title> <story> <leakwatch options> <shown> <program> [args]
	local title=$1 story=$2 opts=$3 shown=$4 rc
	shift 4
	banner "$title" "$story"
	start_prog "$@"
	echo "\$ $shown &            # ready pid=$PROG_PID"
	echo "\$ leakwatch $opts -p $PROG_PID"
	leakwatch $opts -p "$PROG_PID"
	rc=$?
	case $rc in
	0) echo "# exit status 0: not leaking" ;;
	1) echo "# exit status 1: leaking" ;;
	*) echo "# exit status $rc: leakwatch could not tell" ;;
	esac
	kill "$PROG_PID"
}

leakdemo "3. Memory too high, or leaking" \
"The notes: a global ConnectionManager never drops finished connections.
The heap census names the blocks that pile up, 4 112 and 144 bytes:" \
	"-t 5 -d 0.5" leak-connmgr leak-connmgr
leakdemo "4. Reference cycles" \
"The notes: counting cannot free a cycle. The growth is seen, and the census
shows its blocks (1 040 bytes); which of them nothing points to any more is
for the in-process agent to come:" \
	"-t 5 -d 0.5" leak-cycle leak-cycle
leakdemo "5. Out of memory" \
"The notes: read a whole file at once instead of in chunks. How long has it
left under ulimit -v 409600 (400 MiB of address space)?" \
	"-t 5 -d 0.5" \
	"(ulimit -v 409600; exec oom-slurp --limit 1073741824)" \
	/bin/bash -c "ulimit -v 409600 &&
		exec '$SB_TESTPROGS/oom-slurp' --limit 1073741824"
leakdemo "Control: memory that rises and falls" \
"A batch job that builds 40 MiB and frees it every 10 s is not a leak:" \
	"-t 12 -d 0.5" mem-sawtooth mem-sawtooth

# The crash programs do not wait to be killed: they crash by themselves
# (--delay 0: at once), so corepeek catches them, or reads their core.
banner "6. Process crashed, no log" \
"The notes: read the core dump with gdb. Or catch the crash as it happens:"
mkdir -p "$SB_TMP/run"
echo "\$ corepeek run -- crash-null --delay 0"
(
	cd "$SB_TMP/run" && ulimit -c 0 &&
		PATH=$SB_TESTPROGS:$PATH corepeek run -- crash-null --delay 0 2>&1
)
echo "# exit status $?: the program's own, 128 + SIGSEGV"

banner "6b. ... from its core file" \
"A failed assert: the verdict, and glibc's message, from the core:"
pattern=$(cat /proc/sys/kernel/core_pattern)
case $pattern in
'|'*)
	pipe=${pattern#|}
	echo "(skipped: core_pattern pipes cores to ${pipe%% *};" \
		"get one with coredumpctl dump -o core PID, then corepeek core)"
	;;
*)
	dir=$SB_TMP/core
	mkdir -p "$dir"
	echo "\$ ulimit -c unlimited; crash-assert --delay 0"
	# The outer subshell swallows bash's "Aborted (core dumped)" line.
	( (cd "$dir" && ulimit -c unlimited && export PATH=$SB_TESTPROGS:$PATH &&
		exec crash-assert --delay 0) 2>&1; true) 2>/dev/null
	core=$(ls "$dir"/core "$dir"/core.* 2>/dev/null | head -1)
	if [ -n "$core" ]; then
		echo "\$ corepeek ${core##*/}"
		(cd "$dir" && corepeek "${core##*/}")
		rm -f "$dir"/core "$dir"/core.*
	else
		echo "(no core appeared: ulimit -c is capped, or core_pattern" \
			"'$pattern' writes cores elsewhere)"
	fi
	;;
esac
echo

# lockgraph exits 1 when it finds a deadlock or a hang: that is the
# finding, so the demo says so and goes on.
lockdemo() { # lockdemo <title> <what the notes say> <program> [args]
	local title=$1 story=$2 prog=$3 rc
	shift 3
	banner "$title" "$story"
	start_prog "$prog" "$@"
	echo "\$ $prog${*:+ $*} &            # ready pid=$PROG_PID"
	echo "\$ lockgraph -p $PROG_PID"
	lockgraph -p "$PROG_PID"
	rc=$?
	case $rc in
	0) echo "# exit status 0: no deadlock" ;;
	1) echo "# exit status 1: a deadlock or a hang, found" ;;
	*) echo "# exit status $rc: lockgraph could not tell" ;;
	esac
	kill "$PROG_PID"
}

lockdemo "7. Deadlock" \
"The notes: a Lock that is not recursive, taken twice by one thread:" \
	deadlock-self
lockdemo "7b. ... locks taken in different orders" \
"The notes: threads that take several locks in different orders:" \
	deadlock-abba
lockdemo "8. Producer and consumer" \
"The notes: a bounded buffer waits on a condition; nobody signals it:" \
	hang-condvar
echo
