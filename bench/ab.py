"""Interleaved A/B of two gradtape builds: two interpreters (venvs) run the same
``bench/run.py`` selection in turn, round after round (A B, then B A, ...), so that the drift
of a shared machine hits both alike; prints each round's gradtape medians and the B/A ratios,
then the median ratio per workload.

    python bench/ab.py --a .venv-native/bin/python --b .venv/bin/python --rounds 8 -- --only W4

Arguments after ``--`` go to run.py (``--peers gradtape`` and ``--json`` are added).
``--script bench/w4_cpu.py`` runs that script instead, which prints one figure (W4 on one
thread in CPU ms: steadier on a busy machine); ``GRADTAPE_NUM_THREADS=1`` is set for it. Unset
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for the whole command when W5/W6 are measured
(bench/README.md). Exits 1 when a run fails.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def build_of(python):
    return subprocess.run([python, "-c", "import gradtape._core as c; print(c._kernel_isa(), '|', c._kernel_build_info())"],
                          capture_output=True, text=True).stdout.strip()


def one_script_run(python, script, args):
    """The one figure a script like bench/w4_cpu.py prints, as {"W4-cpu": value}."""
    env = dict(os.environ, GRADTAPE_NUM_THREADS="1")
    proc = subprocess.run([python, script] + args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit("ab.py: %s %s failed (exit %d)" % (python, script, proc.returncode))
    return {"W4-cpu": float(proc.stdout.split()[-1])}, build_of(python)


def one_run(python, run_args):
    """Medians (ms or the workload's unit) of gradtape's row per workload id, and the build."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        cmd = [python, os.path.join(HERE, "run.py"), "--peers", "gradtape", "--no-import-times",
               "--json", out] + run_args
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit("ab.py: %s failed (exit %d)" % (" ".join(cmd), proc.returncode))
        with open(out) as f:
            data = json.load(f)
    medians = {}
    for w in data["workloads"]:
        for row in w["rows"]:
            if row.get("impl") == "gradtape" and "median" in row:
                medians[w["id"]] = row["median"]
    return medians, build_of(python)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="interpreter A (the reference)")
    ap.add_argument("--b", required=True, help="interpreter B")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--script", default=None, help="a script printing one figure, instead of run.py")
    ap.add_argument("run_args", nargs="*", help="arguments for run.py (after --)")
    args = ap.parse_args()
    ratios = {}
    per = {"A": {}, "B": {}}
    for r in range(args.rounds):
        order = [("A", args.a), ("B", args.b)] if r % 2 == 0 else [("B", args.b), ("A", args.a)]
        got = {}
        for name, py in order:
            if args.script:
                got[name], isa = one_script_run(py, args.script, args.run_args)
            else:
                got[name], isa = one_run(py, args.run_args)
            if r == 0:
                print("%s: %s (%s)" % (name, py, isa))
        line = []
        for wid in sorted(got["A"]):
            a, b = got["A"][wid], got["B"].get(wid)
            if b is None:
                continue
            per["A"].setdefault(wid, []).append(a)
            per["B"].setdefault(wid, []).append(b)
            ratios.setdefault(wid, []).append(b / a)
            line.append("%s A %.3f B %.3f B/A %.3f" % (wid, a, b, b / a))
        print("round %d: %s" % (r + 1, "; ".join(line)), flush=True)
    print()
    for wid in sorted(ratios):
        rs = ratios[wid]
        print("%s: median A %.3f, median B %.3f; B/A per round median %.3f (min %.3f, max %.3f, %d rounds)"
              % (wid, statistics.median(per["A"][wid]), statistics.median(per["B"][wid]),
                 statistics.median(rs), min(rs), max(rs), len(rs)))


if __name__ == "__main__":
    main()
