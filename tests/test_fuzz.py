"""The API fuzz harness (fuzz/fuzz_api.py): a bounded random-driver run in a subprocess, and
every input of tests/fuzz_corpus/ replayed as a regression test.

Corpus entries are JSON files ({"kind": "code", "code": ..., "expect": "any" | "raises" |
"returns", "subprocess": bool, "timeout": s}) or raw fuzzer bytes (*.bin, as atheris writes
them). Entries that crashed or hung the interpreter are replayed in a subprocess (one crash
must not kill the pytest run); the others in-process.

Contract: every input returns or raises an Exception; the process never crashes, aborts or
hangs. A failing driver run names the input that broke it and the command that replays it.
"""
import glob
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "fuzz", "fuzz_api.py")
CORPUS = os.path.join(ROOT, "tests", "fuzz_corpus")

sys.path.insert(0, os.path.join(ROOT, "fuzz"))
import fuzz_api  # noqa: E402

DRIVER_LINE = re.compile(r"^fuzz: (\d+) inputs tried, (\d+) crashes$", re.M)


def _run_driver(tmp_path, seed, iterations, *extra, timeout=240):
    trace = tmp_path / "trace.txt"
    cmd = [sys.executable, FUZZ, "--iterations", str(iterations), "--seed", str(seed), "--trace", str(trace),
           *extra]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired as e:
        where = trace.read_text().strip() if trace.exists() else "?"
        pytest.fail("fuzz driver hung (no exit after %d s); input being run: seed/index %s\n%s"
                    % (timeout, where, (e.stdout or "")[-2000:]))
    where = trace.read_text().strip() if trace.exists() else "?"
    log = "--- stdout (tail)\n%s\n--- stderr (tail)\n%s" % (p.stdout[-3000:], p.stderr[-6000:])
    if p.returncode != 0 and where not in ("done", "?"):
        s, i = where.split()
        log += ("\n--- the input that crashed: seed %s index %s; replay it with\n"
                "python fuzz/fuzz_api.py --seed %s --start %s --iterations 1 --verbose%s"
                % (s, i, s, i, " " + " ".join(extra) if extra else ""))
    return p, log


def _check_driver(p, log, iterations):
    assert p.returncode == 0, "fuzz driver exited with status %d (a crash, abort or hang)\n%s" % (p.returncode, log)
    m = DRIVER_LINE.search(p.stdout)
    assert m, "no 'fuzz: N inputs tried, K crashes' line\n" + log
    assert int(m.group(1)) == iterations, log
    assert int(m.group(2)) == 0, log
    assert "fuzz: seed" in p.stdout.splitlines()[0], log
    try:
        from conftest import ci_figure
        ci_figure("fuzz_api random driver: %s" % p.stdout.splitlines()[0].split(" (")[0], m.group(0))
    except ImportError:  # pragma: no cover
        pass


def test_random_driver_all_input_families(tmp_path):
    """The full input space, known engine bugs included (fails until they are fixed)."""
    iterations = 120000
    p, log = _run_driver(tmp_path, 20240611, iterations)
    _check_driver(p, log, iterations)


def test_random_driver_avoiding_known_bugs(tmp_path):
    """Everything but the input families of reported bugs (fuzz_api.KNOWN_BUGS): a canary
    for new crashes while the known ones are being fixed."""
    iterations = 10000
    p, log = _run_driver(tmp_path, 777, iterations, "--avoid-known")
    _check_driver(p, log, iterations)


def test_random_driver_is_deterministic_and_resumable(tmp_path):
    """Input i of seed S is the same whether the run starts at 0 or resumes at i."""
    def outcomes(start, n):
        p = subprocess.run([sys.executable, FUZZ, "--seed", "5", "--start", str(start), "--iterations", str(n),
                            "--verbose", "--avoid-known"], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert p.returncode == 0, p.stderr[-3000:]
        lines = [re.sub(r"0x[0-9a-f]+", "0x", ln) for ln in p.stdout.splitlines()
                 if ln.startswith(("input ", "  -> "))]
        return [ln.replace("seed 5 index ", "#") for ln in lines]

    whole = outcomes(0, 60)
    resumed = outcomes(30, 30)
    assert len(whole) >= 120
    first_resumed = next(k for k, ln in enumerate(whole) if ln.startswith("input #30:"))
    assert whole[first_resumed:] == resumed


def test_random_driver_prints_its_seed_and_the_summary_line(tmp_path):
    p = subprocess.run([sys.executable, FUZZ, "--iterations", "50", "--seed", "123", "--avoid-known"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].startswith("fuzz: seed 123 ")
    assert p.stdout.splitlines()[-1] == "fuzz: 50 inputs tried, 0 crashes"


def test_harness_counts_a_broken_contract():
    """A BaseException that is not an Exception escaping an API call breaks the contract and is
    counted (so the harness can fail without a crash)."""
    h = fuzz_api.Harness()

    def escapes(g):
        raise SystemExit(3)

    h.ops = {"escapes": escapes}
    h.names = ["escapes"]
    assert not h.run(fuzz_api.RandomSource("x"), "test")
    assert h.bad and "SystemExit" in h.bad[0][1]


def test_harness_covers_every_op_of_the_manifest():
    """Every public function of the op manifest (cpp/include/gradtape/ops.def) is called by the
    harness, under each of its namespaces for the regular families (derived from the manifest)
    and by its own argument builder for the others."""
    from gradtape import _manifest
    keys = set(fuzz_api.Harness().ops)
    rows = [r for r in _manifest.rows() if r.public]
    assert len(rows) > 60
    missing = []
    for r in rows:
        qualified = [r.name if ns == "gt" else "%s.%s" % (ns, r.name) for ns in r.namespaces]
        if r.family == "Custom":
            if not keys & set(qualified):
                missing.append(r.name)
        else:
            missing += [q for q in qualified if q not in keys]
    assert not missing, "manifest functions the fuzz driver never calls: %s" % missing


# ---------------------------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------------------------

def _corpus_files():
    return sorted(glob.glob(os.path.join(CORPUS, "*.json")) + glob.glob(os.path.join(CORPUS, "*.bin")))


def _entry(path):
    if path.endswith(".json"):
        with open(path) as f:
            return json.load(f)
    return {"kind": "bytes", "subprocess": True, "timeout": 60,
            "description": "raw fuzzer input (replayed through fuzz_api.BytesSource)"}


def test_corpus_is_well_formed():
    files = _corpus_files()
    assert len(files) >= 20
    for path in files:
        e = _entry(path)
        assert e.get("description"), path
        if e["kind"] == "code":
            compile(e["code"], path, "exec")
            assert e["expect"] in ("any", "raises", "returns"), path
    names = " ".join(os.path.basename(p) for p in files)
    # every known bug family has a regression input
    assert "reset_in_grad_fn" in names and "huge_empty" in names


@pytest.mark.parametrize("path", _corpus_files(), ids=os.path.basename)
def test_corpus_entry(path):
    e = _entry(path)
    if e.get("subprocess"):
        timeout = e.get("timeout", 60)
        try:
            p = subprocess.run([sys.executable, FUZZ, "--replay", path, "--hang-timeout", str(timeout),
                                "--mem-limit-mb", str(e.get("mem_limit_mb", 2048))],
                               capture_output=True, text=True, timeout=timeout + 30, cwd=ROOT)
        except subprocess.TimeoutExpired:
            pytest.fail("replay hung: %s\n%s" % (os.path.basename(path), e["description"]))
        assert p.returncode == 0 and "replay: ok" in p.stdout, (
            "replay of %s exited with status %d (negative: killed by that signal)\n%s\n--- stdout\n%s\n"
            "--- stderr (tail)\n%s" % (os.path.basename(path), p.returncode, e["description"], p.stdout[-2000:],
                                       p.stderr[-3000:]))
    else:
        fuzz_api.replay_file(path)
