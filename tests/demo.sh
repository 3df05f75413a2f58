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
echo
