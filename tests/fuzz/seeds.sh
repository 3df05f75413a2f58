#!/bin/bash
# tests/fuzz/seeds.sh DIR: make a small seed corpus for fuzz_core in DIR.
#
#   real-*     cores of crash-divide, crash-null-call and crash-assert
#              (made here with `ulimit -c unlimited`), in two small forms:
#              .notes   cut right after the notes (headers, program headers
#                       and notes: a truncated core that still opens);
#              .compact every segment kept, but its bytes in the file only
#                       for the first page of each offset-0 file mapping (the
#                       ELF header and build-id), the vDSO, and two pages at
#                       each thread's stack pointer; the rest has p_filesz 0
#                       (read from the mapped file, or absent).
#   synth-*    hand-made minimal cores: one NT_PRSTATUS alone; a full one
#              (PRSTATUS, PRPSINFO, SIGINFO, AUXV, NT_FILE, a mapped "file"
#              with an ELF header and a GNU build-id, a stack, a vDSO); that
#              one cut short; an NT_FILE with a bad count; a PT_NOTE past the
#              end; an ELF that is not a core; an ELF32 core; not ELF.
#
# The sick programs are found in SB_TESTPROGS (default build/testprogs next
# to this tree).  Real cores need /proc/sys/kernel/core_pattern to write a
# plain file (`core` or `core.PID`): with a pipe there (systemd-coredump,
# apport) they are skipped with a warning and only the hand-made seeds are
# made.  Needs python3.
set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
: "${SB_TESTPROGS:=$TOP/build/testprogs}"
OUT=${1:?usage: seeds.sh DIR}
command -v python3 >/dev/null 2>&1 || {
	echo "seeds.sh: needs python3" >&2
	exit 1
}
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sickbay-seeds.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

PY=$TMP/seeds.py
cat >"$PY" <<'EOF'
import os, struct, sys

PAGE = 4096
PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_SIGINFO, NT_FILE = 1, 3, 6, 0x53494749, 0x46494c45
NT_GNU_BUILD_ID = 3
AT_NULL, AT_PHDR, AT_ENTRY, AT_SYSINFO_EHDR = 0, 3, 9, 33
PRSTATUS_SIZE, PR_REG_OFF = 336, 112     # struct elf_prstatus on x86_64
RIP, RSP, RBP = 16, 19, 4                # indexes in user_regs_struct
PRPSINFO_SIZE = 136


def ehdr(phnum, etype=4, cls=2, machine=62):
    ident = b'\x7fELF' + bytes([cls, 1, 1, 0]) + bytes(8)
    return ident + struct.pack('<HHIQQQIHHHHHH', etype, machine, 1, 0, 64, 0,
                               0, 64, 56, phnum, 64, 0, 0)


def phdr(ptype, flags, off, vaddr, filesz, memsz, align=PAGE):
    return struct.pack('<IIQQQQQQ', ptype, flags, off, vaddr, 0, filesz,
                       memsz, align)


def note(ntype, desc, name=b'CORE'):
    n = name + b'\0'
    pad = lambda b: b + bytes(-len(b) % 4)
    return struct.pack('<III', len(n), len(desc), ntype) + pad(n) + pad(desc)


def prstatus(tid, rip, rsp, rbp, signo=11):
    d = bytearray(PRSTATUS_SIZE)
    struct.pack_into('<iii', d, 0, signo, 0, 0)
    struct.pack_into('<h', d, 12, signo)
    struct.pack_into('<iiii', d, 32, tid, 1, tid, tid)
    for i, v in ((RIP, rip), (RSP, rsp), (RBP, rbp)):
        struct.pack_into('<Q', d, PR_REG_OFF + 8 * i, v)
    return bytes(d)


def prpsinfo(pid, fname, args):
    d = bytearray(PRPSINFO_SIZE)
    struct.pack_into('<IIiiii', d, 16, 0, 0, pid, 1, pid, pid)
    d[40:40 + len(fname)] = fname
    d[56:56 + len(args)] = args
    return bytes(d)


def siginfo(signo, code, addr):
    return struct.pack('<iiiiQ', signo, 0, code, 0, addr) + bytes(128 - 24)


def auxv(pairs):
    return b''.join(struct.pack('<QQ', k, v) for k, v in pairs + [(AT_NULL, 0)])


def nt_file(entries):  # (start, end, pgoff, path)
    d = struct.pack('<QQ', len(entries), PAGE)
    d += b''.join(struct.pack('<QQQ', s, e, o) for s, e, o, _ in entries)
    return d + b''.join(p + b'\0' for *_, p in entries)


def tiny_elf_with_build_id(bid):
    """An ELF header, one PT_NOTE program header, a GNU build-id note."""
    n = note(NT_GNU_BUILD_ID, bid, name=b'GNU')
    img = ehdr(1, etype=3) + phdr(PT_NOTE, 4, 120, 120, len(n), len(n), 4)
    return img + n


def layout(notes, loads):
    """notes: bytes; loads: [(vaddr, memsz, flags, data)] -> a core."""
    nph = 1 + len(loads)
    off = 64 + 56 * nph
    note_off, off = off, off + len(notes)
    off = (off + PAGE - 1) & ~(PAGE - 1)
    phs, body = [phdr(PT_NOTE, 0, note_off, 0, len(notes), 0, 4)], b''
    for vaddr, memsz, flags, data in loads:
        phs.append(phdr(PT_LOAD, flags, off + len(body), vaddr, len(data), memsz))
        body += data
    head = ehdr(nph) + b''.join(phs) + notes
    return head + bytes(off - len(head)) + body


def synth(out):
    exe, stack, vdso = 0x400000, 0x7ffd0000, 0x7fff0000
    bid = bytes(range(20))
    img = tiny_elf_with_build_id(bid)
    stk = bytearray(PAGE)
    struct.pack_into('<QQ', stk, 0x800, stack + 0x900, exe + 0x123)
    notes = (note(NT_PRSTATUS, prstatus(100, exe + 0x100, stack + 0x800, stack + 0x800)) +
             note(NT_PRPSINFO, prpsinfo(100, b'synth', b'synth --crash ')) +
             note(NT_SIGINFO, siginfo(11, 1, 0x10)) +
             note(NT_AUXV, auxv([(AT_PHDR, exe + 64), (AT_ENTRY, exe + 0x100),
                                 (AT_SYSINFO_EHDR, vdso)])) +
             note(NT_FILE, nt_file([(exe, exe + PAGE, 0, b'/nonexistent/synth'),
                                    (exe + PAGE, exe + 2 * PAGE, 1, b'/nonexistent/synth')])) +
             note(NT_PRSTATUS, prstatus(101, exe + 0x200, stack + 0x400, 0)))
    loads = [(exe, PAGE, 5, img + bytes(PAGE - len(img))),
             (exe + PAGE, PAGE, 5, b''),          # file-backed, not dumped
             (stack, PAGE, 6, bytes(stk)),
             (vdso, PAGE, 5, img + bytes(PAGE - len(img)))]
    full = layout(notes, loads)
    minimal = layout(note(NT_PRSTATUS, prstatus(1, 0x1000, 0x2000, 0)), [])
    files = {
        'synth-min-prstatus': minimal,
        'synth-full': full,
        'synth-truncated': full[:len(full) - PAGE - 100],
        'synth-notes-only': full[:64 + 56 * 5 + len(notes)],
        'synth-bad-ntfile': layout(note(NT_PRSTATUS, prstatus(1, 0, 0, 0)) +
                                   note(NT_FILE, struct.pack('<QQ', 1 << 40, PAGE)), []),
        'synth-note-past-end': ehdr(1) + phdr(PT_NOTE, 0, 1 << 20, 0, 4096, 0, 4),
        'synth-not-core': ehdr(0, etype=2),
        'synth-elf32-core': b'\x7fELF\x01\x01\x01' + bytes(9) +
                            struct.pack('<HHIIIIIHHHHHH', 4, 3, 1, 0, 52, 0, 0, 52, 32, 0, 40, 0, 0),
        'synth-not-elf': b'this is not an ELF core file\n',
    }
    for name, data in files.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)


def parse_notes(buf):
    off = 0
    while off + 12 <= len(buf):
        nsz, dsz, typ = struct.unpack_from('<III', buf, off)
        name = buf[off + 12:off + 12 + nsz]
        doff = off + 12 + ((nsz + 3) & ~3)
        yield name.rstrip(b'\0'), typ, buf[doff:doff + dsz]
        off = doff + ((dsz + 3) & ~3)


def real(core, out_prefix):
    with open(core, 'rb') as f:
        data = f.read()
    phnum = struct.unpack_from('<H', data, 56)[0]
    phs = [struct.unpack_from('<IIQQQQQQ', data, 64 + 56 * i) for i in range(phnum)]
    notes_end, note_bytes = 0, b''
    for t, fl, off, va, pa, fs, ms, al in phs:
        if t == PT_NOTE:
            notes_end = max(notes_end, off + fs)
            note_bytes += data[off:off + fs]
    # .notes: everything up to the end of the notes.
    with open(out_prefix + '.notes', 'wb') as f:
        f.write(data[:notes_end])
    # .compact: keep the pages a reader needs.
    stacks = []  # (vaddr, length): two pages at each thread's sp
    heads = set()  # segment starts whose first page stays: ELF headers
    vdso = 0
    for name, typ, desc in parse_notes(note_bytes):
        if name != b'CORE':
            continue
        if typ == NT_PRSTATUS and len(desc) >= PRSTATUS_SIZE:
            rsp = struct.unpack_from('<Q', desc, PR_REG_OFF + 8 * RSP)[0]
            stacks.append((rsp & ~(PAGE - 1), 2 * PAGE))
        elif typ == NT_AUXV:
            for i in range(0, len(desc) - 15, 16):
                k, v = struct.unpack_from('<QQ', desc, i)
                if k == AT_SYSINFO_EHDR:
                    vdso = v
        elif typ == NT_FILE:
            count, page = struct.unpack_from('<QQ', desc, 0)
            for i in range(count):
                s, e, o = struct.unpack_from('<QQQ', desc, 16 + 24 * i)
                if o == 0:
                    heads.add(s)
    loads = []
    for t, fl, off, va, pa, fs, ms, al in phs:
        if t != PT_LOAD:
            continue
        if va in heads or va == vdso:
            # Not split: a file mapping keeps its name and offset.
            n = fs if va == vdso else min(fs, PAGE)
            loads.append((va, ms, fl, data[off:off + n]))
            continue
        # Split the segment at the stack pages; each piece keeps its flags.
        cuts = sorted({va, va + ms} | {max(va, min(va + ms, x))
                                        for k, n in stacks
                                        for x in (k, k + n)})
        for a, b in zip(cuts, cuts[1:]):
            kept = any(k < b and a < k + n for k, n in stacks)
            in_file = max(0, min(b, va + fs) - a)
            blob = data[off + (a - va):off + (a - va) + in_file] if kept else b''
            loads.append((a, b - a, fl, blob))
    with open(out_prefix + '.compact', 'wb') as f:
        f.write(layout(note_bytes, loads))


if sys.argv[1] == 'synth':
    synth(sys.argv[2])
else:
    real(sys.argv[2], sys.argv[3])
EOF

python3 "$PY" synth "$OUT" || exit 1

pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
case $pattern in
'|'*)
	echo "seeds.sh: core_pattern pipes cores to '$pattern': no real cores," \
		"hand-made seeds only" >&2
	pattern=
	;;
esac
made=0
for prog in crash-divide crash-null-call crash-assert; do
	[ -n "$pattern" ] || break
	exe=$SB_TESTPROGS/$prog
	if [ ! -x "$exe" ]; then
		echo "seeds.sh: no $exe (run make): skipped" >&2
		continue
	fi
	dir=$TMP/$prog
	mkdir -p "$dir"
	{ (cd "$dir" && ulimit -c unlimited && exec "$exe" --delay 0) \
		>/dev/null 2>&1; } 2>/dev/null
	core=$(ls "$dir"/core "$dir"/core.* 2>/dev/null | head -n 1)
	if [ -z "$core" ]; then
		echo "seeds.sh: $prog left no core in $dir (core_pattern" \
			"'$pattern'): skipped" >&2
		continue
	fi
	python3 "$PY" real "$core" "$OUT/real-$prog" || exit 1
	made=$((made + 1))
done
n=$(ls "$OUT" | wc -l)
echo "seeds.sh: $n seeds in $OUT ($made real cores;" \
	"$(du -sk "$OUT" | cut -f1) KB)"
