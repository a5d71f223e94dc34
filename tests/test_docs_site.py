"""The docs site (mkdocs.yml, docs/): every page's Python code runs, and the site builds.

- Page code: each page's ```python blocks run in order in one fresh interpreter per page (a
  block sees the names the blocks before it defined, as a reader following the page would;
  nothing is imported for it), in a temporary directory. A block whose lines start with `>>>`
  runs as a doctest, its printed output compared. A block right after the line
  `<!-- docs-test: skip (why) -->` is not run (code for another library, a sketch with `...`);
  the page says why in the comment. Any exception or doctest mismatch fails the page's test,
  naming the block's line.
- C++ blocks are whole programs, built with find_package(gradtape) against the installed
  package and run (tests/test_cpp_package.py's toolchain; skipped without cmake or a
  compiler). Shell and CMake blocks are commands for the reader, not run here: the
  find_package flow they show is what tests/test_cpp_package.py runs.
- The site: `mkdocs build --strict` (warnings are errors: a broken link or anchor, a page not
  in the nav, a docstring that does not render) into a temporary directory, and the built
  pages load nothing from outside the site (no fonts, scripts or styles from a CDN). It needs
  the `docs` extra (`pip install -e .[docs]` or `pip install mkdocs-material mkdocstrings[python]`);
  without it the test is skipped, except under CI, where it fails.

    python -m pytest tests/test_docs_site.py -q
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP_MARK = re.compile(r"^\s*<!--\s*docs-test:\s*skip\b.*-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


def extract_blocks(text):
    """The page's fenced code blocks, as dicts: line (1-based, of the fence), lang, code
    (dedented), skip (True when the block follows a docs-test: skip comment)."""
    lines = text.splitlines()
    out, i, pending_skip = [], 0, False
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            if SKIP_MARK.match(lines[i]):
                pending_skip = True
            elif lines[i].strip():
                pending_skip = False
            i += 1
            continue
        indent, fence, lang = m.group(1), m.group(2), m.group(3).lower()
        start, body = i, []
        i += 1
        while i < len(lines) and not (lines[i].strip().startswith(fence) and lines[i].strip().strip(fence[0]) == ""):
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        if i >= len(lines):
            raise ValueError("unclosed code fence at line %d" % (start + 1))
        i += 1
        out.append({"line": start + 1, "lang": lang, "code": "\n".join(body) + "\n", "skip": pending_skip})
        pending_skip = False
    return out


def pages():
    return sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))


def python_pages():
    return [p for p in pages() if any(b["lang"] in ("python", "py", "pycon")
                                      for b in extract_blocks((DOCS / p).read_text()))]


# Runs in the child interpreter: reads [(line, code), ...] as JSON from stdin, runs them in one
# namespace, exits 1 naming the first block that fails.
RUNNER = r'''
import __main__, doctest as _doctest, json as _json, sys as _sys, traceback as _traceback
_blocks, _page = _json.load(_sys.stdin), _sys.argv[1]
_ns = __main__.__dict__          # the page's code runs as __main__ (so multiprocessing finds its functions)
for _line, _code in _blocks:
    _name = "%s, the block at line %d" % (_page, _line)
    if any(l.lstrip().startswith(">>>") for l in _code.splitlines()):
        _test = _doctest.DocTestParser().get_doctest(_code, _ns, _name, _page, _line)
        _runner = _doctest.DocTestRunner(optionflags=_doctest.ELLIPSIS | _doctest.NORMALIZE_WHITESPACE)
        _runner.run(_test, clear_globs=False)
        if _runner.failures:
            print("FAILED: %s (doctest output above)" % _name)
            _sys.exit(1)
        continue
    try:
        exec(compile(_code, _name, "exec"), _ns)
    except BaseException:
        _traceback.print_exc()
        print("FAILED: %s" % _name)
        _sys.exit(1)
print("ran %d blocks" % len(_blocks))
'''


def run_page_code(text, page, tmp_path, timeout=300):
    blocks = [(b["line"], b["code"]) for b in extract_blocks(text)
              if b["lang"] in ("python", "py", "pycon") and not b["skip"]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")])))
    p = subprocess.run([sys.executable, "-c", RUNNER, page], input=json.dumps(blocks), capture_output=True,
                       text=True, timeout=timeout, cwd=tmp_path, env=env)
    return p.returncode, p.stdout + p.stderr, len(blocks)


@pytest.mark.parametrize("page", python_pages())
def test_page_code_runs(page, tmp_path):
    rc, out, n = run_page_code((DOCS / page).read_text(), page, tmp_path)
    assert rc == 0, "docs/%s: a code block failed\n%s" % (page, out[-6000:])
    assert "ran %d blocks" % n in out


def test_a_failing_block_fails_and_skip_marks_are_honoured(tmp_path):
    page = textwrap.dedent('''\
        # A page

        ```python
        x = 1
        ```

        <!-- docs-test: skip (not valid here) -->
        ```python
        this is not Python
        ```

        - a list item with an indented block:

            ```python
            assert x == 1
            y = x + 1
            ```

        ```python
        >>> y * 10
        20
        ```
        ''')
    rc, out, n = run_page_code(page, "good.md", tmp_path)
    assert rc == 0 and n == 3, out
    bad = page + "\n```python\nassert y == 3, 'wrong'\n```\n"
    rc, out, _ = run_page_code(bad, "bad.md", tmp_path)
    assert rc == 1 and "bad.md, the block at line 24" in out and "wrong" in out, out
    bad_doctest = page.replace("20\n```", "21\n```")
    rc, out, _ = run_page_code(bad_doctest, "bad.md", tmp_path)
    assert rc == 1 and "FAILED" in out, out


def _cpp_blocks():
    for page in pages():
        for b in extract_blocks((DOCS / page).read_text()):
            if b["lang"] in ("cpp", "c++") and not b["skip"]:
                yield page, b


@pytest.mark.parametrize("page,block", list(_cpp_blocks()), ids=lambda v: v if isinstance(v, str) else "line%d" % v["line"])
def test_cpp_example_builds_against_the_installed_package_and_runs(page, block, tmp_path):
    """A C++ block is a whole program (or is marked docs-test: skip): it is built with
    find_package(gradtape) against the installed package, as docs/cpp-api.md says, and run."""
    assert "int main" in block["code"], \
        "docs/%s line %d: a C++ block must be a whole program, or be marked docs-test: skip" % (page, block["line"])
    import test_cpp_package as cpp
    cpp._need_toolchain()
    src, build = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    (src / "main.cpp").write_text(block["code"])
    (src / "CMakeLists.txt").write_text((cpp.EXAMPLE / "CMakeLists.txt").read_text())  # (builds `app` from main.cpp)
    env = cpp._build_env()
    gen = ["-G", "Ninja"] if cpp.shutil.which("ninja") else []
    r = subprocess.run(["cmake", "-S", str(src), "-B", str(build), *gen, "-DCMAKE_BUILD_TYPE=Release",
                        "-DCMAKE_PREFIX_PATH=" + cpp._gradtape_main("--cmakedir"),
                        "-DCMAKE_CXX_COMPILER=" + cpp._cxx_compiler()], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(build)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, "docs/%s line %d does not build:\n%s" % (page, block["line"], r.stdout + r.stderr)
    r = subprocess.run([str(build / "app")], capture_output=True, text=True, env={}, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, "docs/%s line %d: the program failed:\n%s" % (page, block["line"], r.stdout + r.stderr)


def test_every_page_is_in_the_nav_and_no_link_leaves_the_repository():
    text = (ROOT / "mkdocs.yml").read_text()
    nav_files = set(re.findall(r":\s*([\w./-]+\.md)\s*$", text, re.M))
    missing = sorted(set(pages()) - nav_files)
    assert not missing, "docs pages missing from mkdocs.yml's nav: %s" % missing
    # The docs are the API contract: nothing may point outside the repository (a sibling
    # folder, a machine path).
    bad = []
    for p in pages():
        for n, line in enumerate((DOCS / p).read_text().splitlines(), 1):
            for target in re.findall(r"\]\(([^)]+)\)", line):
                resolved = (DOCS / p).parent / target.split("#")[0]
                if re.match(r"\w+://", target) or target.startswith("/") or \
                        (target.split("#")[0] and ROOT not in resolved.resolve().parents):
                    bad.append("%s:%d: %s" % (p, n, target))
            if re.search(r"\.\./shared|/work/|/home/|/tmp/", line):
                bad.append("%s:%d: %s" % (p, n, line.strip()))
    assert not bad, "links or paths pointing outside the repository:\n" + "\n".join(bad)


def test_coverage_page_is_generated():
    # (tests/test_stubs.py checks that it is up to date, with the other generated files)
    import doctest
    from gradtape import _stubgen, _tfcoverage
    assert os.path.join("docs", "tf-coverage.md") in _stubgen.generated_files(), \
        "docs/data/tf-names.txt not found from %s (run from the repository root)" % os.getcwd()
    assert doctest.testmod(_tfcoverage).failed == 0
    # a name TensorFlow has and gradtape lacks is listed as missing, a manifest op as an op
    text = (DOCS / "tf-coverage.md").read_text()
    assert "| `tf.math.exp` | function | op: gradient rule |  |" in text
    assert "| `tf.newaxis` | constant | Python |  |" in text and "| `tf.signal` | 34 | — |" in text


EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""")


def test_site_builds_strict_and_loads_nothing_from_outside(tmp_path):
    try:
        import mkdocs  # noqa: F401
        import material  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError as e:
        if os.environ.get("CI"):
            pytest.fail("the docs extra is not installed under CI: %s" % e)
        pytest.skip("the docs extra is not installed (pip install mkdocs-material mkdocstrings[python]): %s" % e)
    site = tmp_path / "site"
    p = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                       capture_output=True, text=True, cwd=ROOT, timeout=900,
                       env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert p.returncode == 0, "mkdocs build --strict failed:\n%s" % (p.stdout + p.stderr)[-8000:]
    offending = []
    for f in site.rglob("*"):
        if f.suffix in (".html", ".css", ".js") and f.is_file():
            text = f.read_text(errors="replace")
            for m in EXTERNAL.finditer(text):
                context = text[m.start():m.start() + 120].splitlines()[0]
                offending.append("%s: %s" % (f.relative_to(site), context))
    assert not offending, "the built site loads resources from outside it:\n" + "\n".join(offending[:40])
    # The API reference rendered every public name of each namespace with its docstring: the
    # names are aliases of objects defined elsewhere (the ops in gradtape._core), which a
    # misconfigured handler leaves out without a warning.
    sys.path.insert(0, str(ROOT / "tests"))
    from test_docs import PUBLIC_MODULES, _public
    lost = []
    for module in PUBLIC_MODULES:
        page = site / "reference" / (REFERENCE_PAGES.get(module.__name__, module.__name__.split(".")[-1]) + ".html")
        text = page.read_text() if page.exists() else ""
        for qualified, _ in _public(module):
            if 'id="%s"' % qualified not in text:
                lost.append("%s (%s)" % (qualified, page.name))
    assert not lost, "public names missing from the API reference: %s" % lost[:40]
    exp = (site / "reference" / "math.html").read_text()
    assert "Computes e**x element-wise" in exp and "TensorLike" in exp  # docstring and typed signature


# the page of docs/reference/ that documents a namespace, where it is not its last component
REFERENCE_PAGES = {"gradtape": "gt", "gradtape.data.experimental": "data", "gradtape._config_threading": "config",
                   "gradtape._config_experimental": "config", "gradtape._math_special": "math",
                   "gradtape.optimizers.schedules": "optimizers", "gradtape.experimental.dlpack": "experimental"}
