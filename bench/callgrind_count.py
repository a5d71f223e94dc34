"""The instructions a run of a benchmark script's --piece takes, counted by valgrind's callgrind
(counts do not depend on the machine's load): used by call_path.py and small_code.py."""
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
