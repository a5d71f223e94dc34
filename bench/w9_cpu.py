"""W9's traced step (gradtape-function) in CPU time on one thread, optionally beside torch's in
the same process: steadier than wall time on a busy machine (bench/README.md, W9).

    python bench/w9_cpu.py [blocks] [steps] [fn]

Runs `blocks` alternated blocks of `steps` steps of each (after a check and warm-up) and prints
each one's median CPU ms per step (time.process_time()) and, with torch, function/torch last;
with `fn` gradtape's step alone, its ms last. For `bench/ab.py --script bench/w9_cpu.py -- 6 10 fn`.
"""
import os
import statistics
import sys
import time

os.environ.setdefault("GRADTAPE_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as W  # noqa: E402

blocks = int(sys.argv[1]) if len(sys.argv) > 1 else 6
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
only_fn = len(sys.argv) > 3 and sys.argv[3] == "fn"
cases = {"fn": W.w9_gradtape_function(dict(W.FULL))}
if not only_fn:
    W.lib("torch").set_num_threads(1)
    cases["torch"] = W.w9_torch(dict(W.FULL))
for c in cases.values():
    c.check(c.step())
    for _ in range(3):
        c.step()
res = {k: [] for k in cases}
for b in range(blocks):
    for k, c in (list(cases.items()) if b % 2 == 0 else list(reversed(list(cases.items())))):
        t = time.process_time()
        for _ in range(steps):
            c.step()
        res[k].append((time.process_time() - t) / steps * 1e3)
med = {k: statistics.median(v) for k, v in res.items()}
line = " ".join("%s %.2f" % kv for kv in med.items())
print(line if only_fn else line + " function/torch %.3f" % (med["fn"] / med["torch"]))
