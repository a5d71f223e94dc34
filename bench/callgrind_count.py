"""The instructions a run of a benchmark script's --piece takes, counted by valgrind's callgrind
(counts do not depend on the machine's load), and the command line of such a script: used by
call_path.py and small_code.py."""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def per_call(script, piece_args, many, few):
    """Instructions per call: `script --piece *piece_args N` run for N = many and N = few calls,
    the difference divided by many - few (the process's start and the warm-up cancel)."""
    def count(n):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(d, "cg"),
                                  sys.executable, os.path.abspath(script), "--piece", *map(str, piece_args), str(n)],
                                 capture_output=True, text=True)
            m = re.search(r"Collected : (\d+)", out.stderr)
            if not m:
                sys.exit("valgrind failed:\n" + out.stderr[-2000:])
            return int(m.group(1))
    return (count(many) - count(few)) / (many - few)


def main(doc, reps, run_piece, callgrind, timed):
    """A piece script's command line: --piece A B N runs run_piece(A, B, N) (the process
    per_call counts), --callgrind runs callgrind(), else timed(blocks, reps)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--blocks", type=int, default=9)
    ap.add_argument("--reps", type=int, default=reps)
    ap.add_argument("--piece", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.piece:
        run_piece(args.piece[0], args.piece[1], int(args.piece[2]))
    elif args.callgrind:
        callgrind()
    else:
        timed(args.blocks, args.reps)
