"""W5's traced step (run.py's `gradtape-function` row) against torch, for two gradtape builds
alternated: A (e.g. main's install) and B (a branch's), each in its own process.

Each process builds W5's gradtape-function case and torch's (bench/workloads.py), checks both,
then runs --blocks blocks of each in turn (~--block-time s each, --settle s of sleep before
each) and reports the medians of the per-block medians, and the median over blocks of the ratio
function/torch (each block's pair measured seconds apart, so the machine's load hits both), and
the CPU time per step (all threads of the process: spinning threads show there). The parent
starts A, B, A, B, ... --rounds times each and prints one line per process and the range of
each figure per build. Other processes on this 2-core machine move absolute times by 10x from
minute to minute; the ratio and its range across alternated processes are the figures to read.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/w5_ab.py \\
      --a-path /work/peers --b-path /tmp/w5pkg:/work/peers [--rounds 4] [--threads N]

--a-path / --b-path are the PYTHONPATH of each build (torch must be importable from both);
--threads N sets GRADTAPE_NUM_THREADS, OPENBLAS_NUM_THREADS and torch's threads (default: each
library's own default, 2 on this machine). --env-b VAR=VALUE sets a variable for B's processes
only (e.g. GRADTAPE_GEMM_PIECES=1 to compare one build's GEMM modes).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def child(args):
    sys.path.insert(0, str(HERE))
    import workloads as W
    import gradtape as gt
    cfg = W.QUICK if args.quick else W.FULL
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    cases = {"function": W.w5_gradtape_function(cfg), "torch": W.w5_torch(cfg)}
    for c in cases.values():
        c.check(c.step())
        for _ in range(3):
            c.step()
    wall = {k: [] for k in cases}
    cpu = {k: [] for k in cases}
    for _ in range(args.blocks):
        for k, c in cases.items():
            time.sleep(args.settle)
            ts = []
            t0, c0 = time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < args.block_time or len(ts) < 3:
                t = time.perf_counter()
                c.step()
                ts.append(time.perf_counter() - t)
            cpu[k].append((time.process_time() - c0) / len(ts))
            ts.sort()
            wall[k].append(ts[len(ts) // 2])
    med = lambda v: sorted(v)[len(v) // 2]
    ratios = [f / t for f, t in zip(wall["function"], wall["torch"])]
    print(json.dumps({"gradtape": gt.__file__, "function_ms": med(wall["function"]) * 1e3,
                      "torch_ms": med(wall["torch"]) * 1e3, "ratio": med(ratios),
                      "function_cpu_ms": med(cpu["function"]) * 1e3, "torch_cpu_ms": med(cpu["torch"]) * 1e3}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a-path")
    ap.add_argument("--b-path")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=7)
    ap.add_argument("--block-time", type=float, default=0.15)
    ap.add_argument("--settle", type=float, default=0.15)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--env-b", action="append", default=[])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if not (args.a_path and args.b_path):
        ap.error("--a-path and --b-path are required")
    passed = ["--blocks", str(args.blocks), "--block-time", str(args.block_time), "--settle", str(args.settle),
              "--threads", str(args.threads)] + (["--quick"] if args.quick else [])
    results = {"A": [], "B": []}
    keys = ("function_ms", "torch_ms", "ratio", "function_cpu_ms", "torch_cpu_ms")
    for r in range(args.rounds):
        for name, path in (("A", args.a_path), ("B", args.b_path)):
            env = dict(os.environ, PYTHONPATH=path)
            if args.threads:
                env.update(GRADTAPE_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
                           OMP_NUM_THREADS=str(args.threads))
            if name == "B":
                env.update(kv.split("=", 1) for kv in args.env_b)
            out = subprocess.run([sys.executable, __file__, "--child"] + passed, env=env, check=True,
                                 capture_output=True, text=True).stdout
            res = json.loads(out.strip().splitlines()[-1])
            results[name].append(res)
            load = os.getloadavg()[0]
            print("round %d %s: function %.3f ms, torch %.3f ms, function/torch %.2f; CPU per step %.2f / %.2f ms "
                  "(load %.1f)" % (r + 1, name, res["function_ms"], res["torch_ms"], res["ratio"],
                                   res["function_cpu_ms"], res["torch_cpu_ms"], load), flush=True)
    print("gradtape A: %s\ngradtape B: %s" % (results["A"][0]["gradtape"], results["B"][0]["gradtape"]))
    for name in ("A", "B"):
        rng = {k: (min(x[k] for x in results[name]), max(x[k] for x in results[name])) for k in keys}
        print("%s: function %.3f-%.3f ms, torch %.3f-%.3f ms, function/torch %.2f-%.2f, CPU per function step "
              "%.2f-%.2f ms" % ((name,) + rng["function_ms"] + rng["torch_ms"] + rng["ratio"] + rng["function_cpu_ms"]))
    bf = sorted(b["function_ms"] / a["function_ms"] for a, b in zip(results["A"], results["B"]))
    print("B/A function step, per round (adjacent processes): %s" % ", ".join("%.2f" % x for x in bf))


if __name__ == "__main__":
    main()
