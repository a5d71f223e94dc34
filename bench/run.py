#!/usr/bin/env python
"""Runs the benchmark workloads W1-W9 on gradtape and its peers, in one process.

    python bench/run.py                 # everything, full sizes (~2-3 minutes with all peers)
    python bench/run.py --quick         # reduced sizes, fewer blocks (well under a minute)
    python bench/run.py --only W1,W3    # some workloads (W3 includes W3-notape)
    python bench/run.py --peers gradtape,numpy --json out.json

Method: every case is checked for correctness first (a case whose check fails is reported
and not timed), then warmed up; its iteration count per block is calibrated so one block takes
about --block-time seconds. Then, for each block, every library runs its block in turn
(gradtape, torch, tf, jax, jax-jit, numpy), so slow drifts of this shared machine hit all of
them alike. Reported: the median over blocks of the per-iteration time, min-max over blocks,
and the ratio peer/gradtape of the medians (> 1: gradtape is faster).

A peer that cannot be imported is skipped and said so. The exit status is 0 only when every
correctness check that ran passed (and nothing raised).
"""
import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

wl = None  # bench/workloads.py, imported by main() once --threads has set the environment

LIB_ORDER = ["gradtape", "torch", "tf", "jax", "numpy"]
IMPORT_NAME = {"gradtape": "gradtape", "torch": "torch", "tf": "tensorflow", "jax": "jax",
               "numpy": "numpy"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------
def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def import_time(libname, repeats):
    """Seconds to `import X` in a fresh interpreter (median of `repeats`), or None."""
    mod = IMPORT_NAME[libname]
    code = ("import time; t = time.perf_counter(); import %s; "
            "print(time.perf_counter() - t)" % mod)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    times = []
    for _ in range(repeats):
        try:
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, timeout=120)
        except subprocess.TimeoutExpired:
            return None
        if p.returncode != 0:
            return None
        times.append(float(p.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def gradtape_build():
    """The git commit of gradtape's source tree, when its extension module was built, and the
    instruction set its kernels run with."""
    try:
        gt = wl.lib("gradtape")
    except wl.Unavailable:
        return None
    parts = []
    src = os.path.dirname(os.path.abspath(gt.__file__))
    try:
        rev = subprocess.run(["git", "-C", src, "describe", "--always", "--dirty", "--abbrev=10"],
                             capture_output=True, text=True, timeout=10)
        if rev.returncode == 0 and rev.stdout.strip():
            parts.append("source commit %s" % rev.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    core = getattr(gt, "_core", None)
    path = getattr(core, "__file__", None)
    if path and os.path.exists(path):
        built = datetime.datetime.fromtimestamp(os.path.getmtime(path)).astimezone()
        parts.append("_core built %s" % built.strftime("%Y-%m-%d %H:%M:%S %Z"))
    if hasattr(core, "_kernel_isa"):  # docs/building.md: which copy of the hot loops runs
        parts.append("kernels %s (%s)" % (core._kernel_isa(), core._kernel_build_info()))
    return ", ".join(parts) or None


def openblas_info():
    """Which OpenBLAS kernels and how many threads gradtape's and numpy's OpenBLAS use."""
    import ctypes
    import glob
    out = {}
    cands = []
    try:
        import scipy_openblas32
        cands.append(("gradtape (scipy-openblas32)", glob.glob(
            os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas*.so*")), ""))
    except Exception:
        pass
    try:
        import numpy
        libs = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
        cands.append(("numpy (bundled)", glob.glob(os.path.join(libs, "libscipy_openblas*.so*")), "64_"))
    except Exception:
        pass
    for who, paths, suffix in cands:
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
                core = getattr(lib, "scipy_openblas_get_corename" + suffix)
                core.restype = ctypes.c_char_p
                nthr = getattr(lib, "scipy_openblas_get_num_threads" + suffix)
                out[who] = "%s, %d threads" % (core().decode(), nthr())
                break
            except (OSError, AttributeError):
                continue
    return out


class LoadMonitor:
    """CPU time that *other* processes used while a workload ran, in cores (0 = idle machine)."""

    def __init__(self):
        self.hz = os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # user nice system irq softirq steal

    @staticmethod
    def _self():
        with open("/proc/self/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
        return int(v[11]) + int(v[12]) + int(v[13]) + int(v[14])  # utime stime cutime cstime

    def start(self):
        try:
            self.t0, self.b0, self.s0 = time.time(), self._busy(), self._self()
        except (OSError, ValueError, IndexError):
            self.t0 = None

    def stop(self):
        if self.t0 is None:
            return None
        dt = time.time() - self.t0
        other = (self._busy() - self.b0) - (self._self() - self.s0)
        return max(0.0, other / self.hz / dt) if dt > 0 else None


IDLE_THRESHOLD = 0.15  # cores used by other processes


def wait_idle(max_wait, window=2.0, threshold=IDLE_THRESHOLD):
    """Waits until other processes used < threshold cores over `window` s, at most max_wait s."""
    t_end = time.time() + max_wait
    mon = LoadMonitor()
    waited = False
    while True:
        mon.start()
        time.sleep(window)
        load = mon.stop()
        if load is None or load < threshold:
            if waited:
                log("  machine idle again")
            return
        if time.time() > t_end:
            log("  machine still busy (%.2f cores used by other processes); going on" % load)
            return
        if not waited:
            log("  waiting for the machine to go idle (%.2f cores used by other processes) ..." % load)
            waited = True


# ---------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------
def calibrate(step, warm_time, block_time, max_warm_calls=50):
    """Warm up `step` and return the repetitions that make one block last ~block_time."""
    t_start = time.perf_counter()
    n = 0
    t_last = 0.0
    while True:
        t0 = time.perf_counter()
        step()
        t_last = time.perf_counter() - t0
        n += 1
        elapsed = time.perf_counter() - t_start
        if (n >= 3 and elapsed >= warm_time) or n >= max_warm_calls or \
                (n >= 2 and t_last > block_time):
            break
    # re-estimate the per-call time from a short burst of the steady state
    reps = max(1, int(block_time / max(t_last, 1e-9)))
    burst = min(reps, 10)
    t0 = time.perf_counter()
    for _ in range(burst):
        step()
    per = (time.perf_counter() - t0) / burst
    return max(1, int(round(block_time / max(per, 1e-9))))


def time_block(step, reps):
    t0 = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t0) / reps


def scale_for(unit, info):
    """Factor from seconds per iteration to the workload's unit."""
    if unit == "us/iter":
        return 1e6
    if unit == "us/op":
        return 1e6 / info["ops"]
    return 1e3  # ms


# ---------------------------------------------------------------------------------------
# one workload
# ---------------------------------------------------------------------------------------
def run_workload(wid, cfg, libs, args):
    spec = wl.WORKLOADS[wid]
    rows = []
    cases = []
    for label, libname, factory in spec["impls"]:
        row = dict(impl=label, lib=libname)
        rows.append(row)
        if libname not in libs:
            row["status"] = "skipped: " + libs_reason(libname)
            continue
        t_setup = time.perf_counter()
        try:
            case = factory(cfg)
            result = case.step()
            case.check(result)
            row["check"] = "passed"
        except wl.Unavailable as e:
            row["status"] = "skipped: %s" % e
            continue
        except wl.CheckFailed as e:
            row["check"] = "FAILED: %s" % e
            row["status"] = "check failed"
            log("  %s %s: CHECK FAILED: %s" % (wid, label, e))
            continue
        except Exception as e:
            row["check"] = "ERROR: %s: %s" % (type(e).__name__, e)
            row["status"] = "error"
            log("  %s %s: ERROR %s: %s" % (wid, label, type(e).__name__, e))
            continue
        row["status"] = "ok"
        row["info"] = case.info
        t_warm = time.perf_counter()
        try:
            row["reps"] = calibrate(case.step, args.warm_time, args.block_time)
        except Exception as e:
            row["status"] = "error"
            row["check"] = "ERROR while warming up: %s: %s" % (type(e).__name__, e)
            continue
        if args.verbose:
            log("  %-18s setup+check %.2f s, warm-up %.2f s, %d reps/block"
                % (label, t_warm - t_setup, time.perf_counter() - t_warm, row["reps"]))
        row["times"] = []
        cases.append((row, case))

    # Rounds: each case runs one block in turn. With --wait-idle, a round during which other
    # processes used the machine is discarded and run again once it is idle (bounded).
    done, attempts, discarded = 0, 0, 0
    mon = LoadMonitor()
    wait_budget_end = time.time() + args.wait_idle  # total waiting allowed in this workload
    while done < args.blocks and cases:
        attempts += 1
        mon.start()
        times = []
        for row, case in list(cases):
            gc.collect()
            if args.settle:
                time.sleep(args.settle)
            try:
                times.append(time_block(case.step, row["reps"]))
            except Exception as e:  # a step that worked before failing now: a finding
                row["status"] = "error"
                row["check"] = "ERROR while timing: %s: %s" % (type(e).__name__, e)
                log("  %s %s: ERROR while timing %s: %s" % (wid, row["impl"], type(e).__name__, e))
                row.pop("times", None)
                cases = [c for c in cases if c[0] is not row]
                times = None
                break
        if times is None:
            continue
        load = mon.stop()
        if args.wait_idle and load is not None and load > IDLE_THRESHOLD and \
                attempts < 3 * args.blocks and time.time() < wait_budget_end:
            discarded += 1
            log("  round discarded: other processes used %.2f cores" % load)
            wait_idle(max(0.0, wait_budget_end - time.time()))
            continue
        for (row, _), t in zip(cases, times):
            row["times"].append(t)
        done += 1

    f_unit = None
    for row, case in cases:
        f = scale_for(spec["unit"], case.info)
        ts = [t * f for t in row["times"]]
        row["median"] = statistics.median(ts)
        row["min"] = min(ts)
        row["max"] = max(ts)
        med_s = statistics.median(row["times"])
        if "bytes" in case.info:
            row["GB/s"] = case.info["bytes"] / med_s / 1e9
        if "flop" in case.info:
            row["GFLOP/s"] = case.info["flop"] / med_s / 1e9
        f_unit = spec["unit"]
    base = next((r for r in rows if r["lib"] == "gradtape" and "median" in r), None)
    for r in rows:
        if base and "median" in r:
            r["ratio"] = r["median"] / base["median"]
    return dict(id=wid, title=spec["title"], unit=f_unit or spec["unit"], rows=rows,
                discarded_rounds=discarded)


_SKIP_REASON = {}


def libs_reason(libname):
    return _SKIP_REASON.get(libname, "not selected (--peers)")


# ---------------------------------------------------------------------------------------
# printing
# ---------------------------------------------------------------------------------------
def fmt_num(x):
    if x is None:
        return "-"
    if x >= 1000:
        return "%.0f" % x
    if x >= 100:
        return "%.1f" % x
    if x >= 10:
        return "%.2f" % x
    if x >= 1:
        return "%.3f" % x
    return "%.4f" % x


def print_workload(res, out):
    unit = res["unit"]
    out("\n### %s %s" % (res["id"], res["title"]))
    if res.get("other_load") is not None and res["other_load"] > 0.1:
        out("\n(other processes kept %.2f cores busy on average while this workload ran%s)"
            % (res["other_load"], "; %d timed rounds were discarded and rerun" % res["discarded_rounds"]
               if res.get("discarded_rounds") else ": its figures are noisier"))
    extra = None
    if any("GB/s" in r for r in res["rows"]):
        extra = "GB/s"
    if any("GFLOP/s" in r for r in res["rows"]):
        extra = "GFLOP/s"
    head = "| impl | median %s | min-max | peer/gradtape |" % unit
    sep = "|---|---:|---:|---:|"
    if extra:
        head += " %s |" % extra
        sep += "---:|"
    out("")
    out(head)
    out(sep)
    for r in res["rows"]:
        if "median" in r:
            line = "| %s | %s | %s-%s | %s |" % (
                r["impl"], fmt_num(r["median"]), fmt_num(r["min"]), fmt_num(r["max"]),
                "%.2f" % r["ratio"] if "ratio" in r else "-")
            if extra:
                line += " %s |" % fmt_num(r.get(extra))
        else:
            line = "| %s | %s | | |" % (r["impl"], r.get("status", "?"))
            if r.get("check", "").startswith(("FAILED", "ERROR")):
                line = "| %s | %s | | |" % (r["impl"], r["check"][:160])
            if extra:
                line += " |"
        out(line)


def print_w8(rows, out):
    out("\n### W8 softplus-stability: value / gradient at each point "
        "(ok = within a few ulp of the exact value; off = finite but wrong)")
    out("")
    out("| impl | dtype | " + " | ".join("%g" % p for p in wl.W8_POINTS) + " |")
    out("|---|---|" + "---|" * len(wl.W8_POINTS))
    for r in rows:
        if "value" in r:
            cells = ["%s/%s" % (v, g) if (v, g) != ("ok", "ok") else "ok"
                     for v, g in zip(r["value"], r["grad"])]
        else:
            cells = [r.get("error") or r.get("skipped", "?")] + [""] * (len(wl.W8_POINTS) - 1)
        out("| %s | %s | %s |" % (r["label"], r["dtype"], " | ".join(cells)))


def med(results, wid, impl):
    for res in results:
        if res["id"] == wid:
            for r in res["rows"]:
                if r["impl"] == impl and "median" in r:
                    return r["median"]
    return None


def targets(results, imports):
    """PERFORMANCE.md's targets T1-T8 that this run can judge: (id, goal, measured, met)."""
    out = []

    def add(tid, goal, measured, met):
        out.append(dict(id=tid, goal=goal, measured=measured, met=met))

    g1 = med(results, "W1", "gradtape")
    if g1 is not None:
        add("T1", "W1 <= 6 us", "%.2f us" % g1, g1 <= 6)
    g2 = med(results, "W2", "gradtape")
    if g2 is not None:
        add("T2", "W2 <= 20 us (and < jax-jit)", "%.2f us" % g2 + (
            ", jax-jit %.2f us" % med(results, "W2", "jax-jit") if med(results, "W2", "jax-jit") else ""),
            g2 <= 20)
    g3 = med(results, "W3", "gradtape")
    if g3 is not None:
        add("T3a", "W3 <= 1.5 us/op fwd+bwd", "%.3f us/op" % g3, g3 <= 1.5)
    g3n = med(results, "W3-notape", "gradtape")
    if g3n is not None:
        add("T3b", "W3 no tape <= 0.6 us/op", "%.3f us/op" % g3n, g3n <= 0.6)
    for tid, wid, peer, goal, lim in (("T4", "W4", "torch", "W4 <= 0.6x PyTorch", 0.6),
                                      ("T5", "W5", "torch", "W5 <= PyTorch", 1.0),
                                      ("T6", "W6", "torch", "W6 <= 1.05x PyTorch", 1.05),
                                      ("T7", "W7", "torch.func.jacrev", "W7 <= torch.func.jacrev", 1.0)):
        g, p = med(results, wid, "gradtape"), med(results, wid, peer)
        if g is not None and p is not None:
            add(tid, goal, "gradtape/%s = %.2f" % (peer, g / p), g / p <= lim)
    if imports.get("gradtape") is not None:
        add("T8", "import <= 0.2 s", "%.3f s" % imports["gradtape"], imports["gradtape"] <= 0.2)
    return out


# ---------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="reduced sizes, fewer and shorter blocks")
    ap.add_argument("--only", default="", help="comma-separated workload ids, e.g. W1,W3")
    ap.add_argument("--peers", default=",".join(LIB_ORDER),
                    help="comma-separated libraries to run (gradtape always runs): "
                         + ",".join(LIB_ORDER))
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--blocks", type=int, default=None, help="timed blocks per case")
    ap.add_argument("--block-time", type=float, default=None, help="seconds per block per case")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to sleep before each case's block, so that the spinning BLAS/OpenMP "
                         "workers of the library that ran before go idle (default 0.15, quick 0)")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit every library to this many threads (GRADTAPE/OMP/OpenBLAS/MKL_NUM_THREADS, "
                         "torch.set_num_threads, TF intra-op, XLA); default: each library's own default")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="before each workload, wait up to SECONDS for other processes to leave "
                         "the machine idle, and rerun timed rounds they disturbed (up to SECONDS more "
                         "of waiting); this machine is shared with builds")
    ap.add_argument("-v", "--verbose", action="store_true", help="log setup and warm-up times")
    ap.add_argument("--no-import-times", action="store_true", help="skip the import-time subprocesses")
    args = ap.parse_args(argv)

    global wl
    if args.threads:
        n = str(args.threads)
        for var in ("GRADTAPE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=%s intra_op_parallelism_threads=%s"
                                   % ("false" if args.threads == 1 else "true", n)).strip()
    import workloads as wl_mod
    wl = wl_mod
    if args.threads:
        wl.THREADS = args.threads

    cfg = wl.QUICK if args.quick else wl.FULL
    if args.blocks is None:
        args.blocks = 3 if args.quick else 7
    if args.block_time is None:
        args.block_time = 0.02 if args.quick else 0.12
    if args.settle is None:
        args.settle = 0.0 if args.quick else 0.15
    args.warm_time = 0.05 if args.quick else 0.3

    only = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    wids = []
    for w in wl.ORDER:
        if not only or w in only or w.split("-")[0] in only:
            wids.append(w)
    unknown = [w for w in only if w not in wl.ORDER]
    if unknown:
        ap.error("unknown workload(s): %s (known: %s)" % (",".join(unknown), ",".join(wl.ORDER)))

    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in wanted if p not in LIB_ORDER]
    if bad:
        ap.error("unknown peer(s): %s (known: %s)" % (",".join(bad), ",".join(LIB_ORDER)))
    wanted = [p for p in LIB_ORDER if p in wanted or p == "gradtape"]

    lines = []

    def out(s=""):
        lines.append(s)
        print(s, flush=True)

    started = time.time()
    env = dict(
        date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        python=sys.version.split()[0], platform=platform.platform(), nproc=os.cpu_count(),
        cpu=cpu_model(), mode="quick" if args.quick else "full", sizes=cfg,
        blocks=args.blocks, block_time=args.block_time, settle=args.settle, threads=args.threads,
        OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"),
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"),
    )

    # -- import times, each in a fresh interpreter, before this process loads anything --
    imports = {}
    if not args.no_import_times:
        repeats = 1 if args.quick else 3
        for name in wanted:
            log("import time: %s ..." % name)
            imports[name] = import_time(name, repeats)

    # -- load the libraries, gradtape first --
    t_load = time.time()
    libs = []
    versions = {}
    for name in wanted:
        try:
            wl.lib(name)
            libs.append(name)
            versions[name] = wl.lib_version(name)
        except wl.Unavailable as e:
            _SKIP_REASON[name] = "not importable (%s)" % e
            log("peer %s skipped: %s" % (name, e))
    for name in LIB_ORDER:
        if name not in wanted:
            _SKIP_REASON.setdefault(name, "not selected (--peers)")
    if "torch" in libs:
        env["torch_threads"] = wl.lib("torch").get_num_threads()
    env["versions"] = versions
    # The libraries' own objects (hundreds of thousands with TF, torch and JAX loaded) never
    # become garbage: move them out of the collector's way, so that the gc.collect() before
    # each block costs microseconds instead of ~0.3 s.
    gc.collect()
    gc.freeze()
    if args.verbose:
        log("loading the libraries took %.1f s" % (time.time() - t_load))
    env["gradtape_build"] = gradtape_build()
    env["openblas"] = openblas_info()

    out("# gradtape benchmark (%s run), %s" % (env["mode"], env["date"]))
    out("")
    out("machine: %s, nproc %s, Python %s, %s" % (env["cpu"], env["nproc"], env["python"], env["platform"]))
    out("versions: " + ", ".join("%s %s" % (k, v) for k, v in versions.items()))
    if env["gradtape_build"]:
        out("gradtape: " + env["gradtape_build"])
    skipped = [n for n in LIB_ORDER if n not in libs]
    if skipped:
        out("skipped peers: " + "; ".join("%s (%s)" % (n, libs_reason(n)) for n in skipped))
    if env["openblas"]:
        out("OpenBLAS: " + "; ".join("%s: %s" % kv for kv in env["openblas"].items())
            + " (OPENBLAS_CORETYPE=%s)" % env["OPENBLAS_CORETYPE"])
    out("threads: %s; torch %s threads" % (
        "limited to %d (--threads)" % args.threads if args.threads else "each library's default",
        env.get("torch_threads", "-")))
    out("%d blocks of ~%.2f s per case (settle %.2f s before each), medians; "
        "ratio = peer/gradtape (> 1: gradtape faster)" % (args.blocks, args.block_time, args.settle))

    if imports:
        out("\n### import time (fresh interpreter, median of %d)" % (1 if args.quick else 3))
        out("")
        out("| library | import s | peer/gradtape |")
        out("|---|---:|---:|")
        g = imports.get("gradtape")
        for name, t in imports.items():
            out("| %s | %s | %s |" % (name, "%.3f" % t if t is not None else "not importable",
                                      "%.1f" % (t / g) if (t and g) else "-"))

    results = []
    n_fail = 0
    n_pass = 0
    for wid in wids:
        if wid == "W8":
            continue
        if args.wait_idle:
            wait_idle(args.wait_idle)
        log("running %s ..." % wid)
        mon = LoadMonitor()
        mon.start()
        t_w = time.time()
        res = run_workload(wid, cfg, libs, args)
        res["other_load"] = mon.stop()
        res["seconds"] = time.time() - t_w
        if args.verbose:
            log("  %s took %.1f s" % (wid, res["seconds"]))
        results.append(res)
        for r in res["rows"]:
            c = r.get("check", "")
            n_pass += c == "passed"
            n_fail += c.startswith(("FAILED", "ERROR"))
        print_workload(res, out)

    w8 = None
    if "W8" in wids:
        log("running W8 ...")
        w8 = wl.run_w8(libs)
        print_w8(w8, out)
        for r in w8:
            if r["lib"] == "gradtape" and r["form"] == "builtin":
                ok = "value" in r and all(s == "ok" for s in r["value"] + r["grad"])
                n_pass += ok
                n_fail += not ok
                if not ok:
                    log("  W8 %s %s: CHECK FAILED: %s" % (r["label"], r["dtype"], r))

    tg = targets(results, imports)
    if tg:
        out("\n### PERFORMANCE.md targets judged by this run")
        out("")
        out("| target | goal | measured | met |")
        out("|---|---|---|---|")
        for t in tg:
            out("| %s | %s | %s | %s |" % (t["id"], t["goal"], t["measured"], "yes" if t["met"] else "NO"))

    out("")
    out("checks: %d passed, %d failed" % (n_pass, n_fail))
    out("wall time: %.1f s" % (time.time() - started))

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(env=env, imports=imports, workloads=results, w8=w8, targets=tg,
                           checks=dict(passed=n_pass, failed=n_fail), report="\n".join(lines)),
                      f, indent=1, default=str)
    return 0 if n_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
