"""How many pieces per thread parallel_for should cut a big call into (cpp/src/kernels/parallel.cpp).

  python bench/w4_pieces.py [--quick] [--busy] [--pieces 1,4,8] [--rounds 2]

For each setting of GRADTAPE_PIECES_PER_THREAD (read once per process), a fresh process times
W4's gradtape-function and gradtape (eager) steps beside torch's (bench/workloads.py, run.py's
sizes), in interleaved blocks, and prints the medians and the ratios to torch. --busy keeps a
process spinning on one core meanwhile (a shared machine's other tenant): with one piece per
thread a call waits for the slowed core's whole half. Settings alternate over the rounds.
"""
import argparse
import os
import subprocess
import sys

CHILD = r"""
import statistics, sys, time
sys.path.insert(0, %(bench)r)
import workloads as W
cfg = dict(W.QUICK if %(quick)r else W.FULL)
steps = [("function", W.w4_gradtape_function(cfg).step), ("eager", W.w4_gradtape(cfg).step)]
try:
    steps.append(("torch", W.w4_torch(cfg).step))
except Exception:
    pass
for _, f in steps:
    f(); f()
times = {name: [] for name, _ in steps}
for _ in range(7):
    for name, f in steps:
        start = time.perf_counter()
        for _ in range(8):
            f()
        times[name].append((time.perf_counter() - start) / 8 * 1e3)
med = {k: statistics.median(v) for k, v in times.items()}
line = "  ".join("%%s %%.2f ms" %% (k, v) for k, v in med.items())
if "torch" in med:
    line += "   function/torch %%.2f  eager/torch %%.2f" %% (med["function"] / med["torch"], med["eager"] / med["torch"])
print(line)
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--busy", action="store_true")
    p.add_argument("--pieces", default="1,4,8")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="run.py's quick sizes (a smoke test)")
    args = p.parse_args()
    bench = os.path.dirname(os.path.abspath(__file__))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    try:
        for _ in range(args.rounds):
            for k in args.pieces.split(","):
                env = dict(os.environ, GRADTAPE_PIECES_PER_THREAD=k)
                out = subprocess.run([sys.executable, "-c", CHILD % {"bench": bench, "quick": args.quick}], env=env,
                                     capture_output=True, text=True, timeout=600)
                print("pieces %-3s %s" % (k, (out.stdout or out.stderr).strip().splitlines()[-1]))
    finally:
        if busy:
            busy.kill()


if __name__ == "__main__":
    main()
