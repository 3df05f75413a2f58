# stacks.awk: is a stack dump right about the spin-many target?
#
#   awk -v mode=hotthread|eu-stack|gdb -v tids="T1 T2 T3" -f stacks.awk DUMP
#
# Splits the dump into one block per thread (the header line names the
# TID), and prints one line:
#
#   chains=N waiters=M blocks=B others=K
#
# chains   spinner TIDs (from tids) whose block shows spin_inner, spin_middle,
#          spin_outer as consecutive frames, innermost first (in one frame
#          listing, or on one "a <- b <- c" line of a hotthread profile)
# waiters  blocks with a blocked_wait frame
# blocks   thread blocks in the dump
# others   blocks whose TID is not a spinner (for hotthread: non-spinner
#          threads it reported as hot)
#
# Headers: hotthread  "thread TID 'NAME': ..."   (text, or bench/run.sh's
#                                                 rendering of its JSON)
#          eu-stack   "TID TID:"
#          gdb        "Thread N (Thread 0x... (LWP TID) "NAME"):"
BEGIN {
	n = split(tids, t, " ")
	for (i = 1; i <= n; i++)
		spinner[t[i]] = 1
	tid = ""
}

function header(    s) {
	if (mode == "hotthread" && $0 ~ /^thread [0-9]+ '.*': /)
		return $2
	if (mode == "eu-stack" && $0 ~ /^TID [0-9]+:/) {
		s = $2
		sub(/:$/, "", s)
		return s
	}
	if (mode == "gdb" && $0 ~ /^Thread [0-9]+ .*LWP [0-9]+/) {
		match($0, /LWP [0-9]+/)
		return substr($0, RSTART + 4, RLENGTH - 4)
	}
	return ""
}

# Which of the names we look for a frame line is about.
function fname(    i) {
	if ($0 ~ /[^A-Za-z0-9_]spin_inner([^A-Za-z0-9_]|$)/)
		return "spin_inner"
	if ($0 ~ /[^A-Za-z0-9_]spin_middle([^A-Za-z0-9_]|$)/)
		return "spin_middle"
	if ($0 ~ /[^A-Za-z0-9_]spin_outer([^A-Za-z0-9_]|$)/)
		return "spin_outer"
	if ($0 ~ /[^A-Za-z0-9_]blocked_wait([^A-Za-z0-9_]|$)/)
		return "blocked_wait"
	return "-"
}

{
	h = header()
	if (h != "") {
		tid = h
		blocks++
		if (!(tid in spinner))
			others++
		p1 = p2 = ""
		next
	}
	if (tid == "")
		next
	if ($0 ~ /^[ \t]*#[0-9]+[ \t]/) {
		f = fname()
		if (f == "spin_outer" && p1 == "spin_middle" &&
		    p2 == "spin_inner")
			chain[tid] = 1
		if (f == "blocked_wait")
			waiter[tid] = 1
		p2 = p1
		p1 = f
		next
	}
	# hotthread's one-line stacks: "  95 % spin_inner <- spin_middle <- ..."
	if (mode == "hotthread" &&
	    $0 ~ /spin_inner[^A-Za-z0-9_]+spin_middle[^A-Za-z0-9_]+spin_outer/)
		chain[tid] = 1
	if (mode == "hotthread" && $0 ~ /blocked_wait/)
		waiter[tid] = 1
}

END {
	for (k in chain)
		if (k in spinner)
			chains++
	for (k in waiter)
		waiters++
	printf "chains=%d waiters=%d blocks=%d others=%d\n", chains, waiters,
	       blocks, others
}
