"""What a small gt.function step spends outside its program: the call, the result's build and
the step's float() conversions, for run.py's W1 and W2 gradtape-function steps.

  python bench/call_path.py             # times, medians of interleaved blocks, one process
  python bench/call_path.py --callgrind # instructions per call (valgrind, deterministic)

Timed (each piece interleaved block by block with the others, so drift hits all alike):
  step     run.py's step: the call and its float() conversions
  call     the gt.function call alone
  cache    the function's call cache asked directly (_call_cache.call: no Function call)
  floats   the step's float() conversions of the call's results

--callgrind runs this script under `valgrind --tool=callgrind` with 2,000 and 12,000 calls of
each piece and prints the difference per call, so the interpreter's start and the traces
cancel: instruction counts do not drift with the machine's load, times do.
"""
import os
import statistics
import sys
import time

import callgrind_count

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def pieces(name):
    """The four callables of a workload's step (warmed up: traced, planned, scalar code made)."""
    import workloads as wl
    make = {"W1": wl.w1_gradtape_function, "W2": wl.w2_gradtape_function}[name]
    case = make(wl.FULL)
    step = case.step
    fn = step.function
    cache = fn._call_cache.call
    result = fn()

    def floats_of(r):
        return [None if x is None else float(x) for x in r] if isinstance(r, list) and not isinstance(r[0], list) \
            else [[None if x is None else float(x) for x in row] for row in r]
    for _ in range(200):
        step()
    return {"step": step, "call": fn, "cache": lambda: cache(()), "floats": lambda: floats_of(result)}


def timed(blocks, reps):
    print("medians of %d interleaved blocks, us per call" % blocks)
    print("| workload | step | call | cache | floats |")
    print("|---|---:|---:|---:|---:|")
    for name in ("W1", "W2"):
        ps = pieces(name)
        times = {k: [] for k in ps}
        for _ in range(blocks):
            for k, f in ps.items():
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                times[k].append((time.perf_counter() - t0) / reps * 1e6)
        print("| %s | %s |" % (name, " | ".join("%.3f" % statistics.median(times[k]) for k in ps)))


def run_piece(name, piece, n):
    f = pieces(name)[piece]
    for _ in range(n):
        f()


def callgrind():
    print("instructions per call (callgrind: 12,000 calls minus 2,000)")
    print("| workload | step | call | cache | floats |")
    print("|---|---:|---:|---:|---:|")
    for name in ("W1", "W2"):
        row = [callgrind_count.per_call(__file__, (name, p), 12000, 2000) for p in ("step", "call", "cache", "floats")]
        print("| %s | %s |" % (name, " | ".join("%.0f" % x for x in row)))


if __name__ == "__main__":
    callgrind_count.main(__doc__, 20000, run_piece, callgrind, timed)
