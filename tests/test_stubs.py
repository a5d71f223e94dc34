"""The typed stubs: the shipped .pyi files and docs/api-ops.md are what gradtape._stubgen
generates from the op manifest, py.typed is shipped, every public attribute of the classes
has a stub, and mypy accepts examples/*.py against the stubs (with real return types)."""
import ast
import glob
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import gradtape as gt
from gradtape import _stubgen

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = pathlib.Path(gt.__file__).resolve().parent


@pytest.mark.parametrize("rel", sorted(_stubgen.generated_files()))
def test_generated_file_is_up_to_date(rel):
    path = ROOT / rel
    assert path.exists(), "%s is missing: run python -m gradtape._stubgen" % rel
    assert path.read_text() == _stubgen.generated_files()[rel], \
        "%s is out of date: run python -m gradtape._stubgen" % rel


def test_installed_package_ships_the_stubs():
    assert (PACKAGE / "py.typed").exists()
    for name in _stubgen.stubs():
        assert (PACKAGE / name).exists(), name


def _stub_classes(text):
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef):
            names = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets if isinstance(t, ast.Name))
            out[node.name] = names
    return out


def test_every_public_class_attribute_has_a_stub():
    stubs = _stubgen.stubs()
    classes = _stub_classes(stubs["_core.pyi"])
    classes.update(_stub_classes(stubs["__init__.pyi"]))
    shared = classes.pop("_TensorOps")
    classes["Tensor"] |= shared
    classes["Variable"] |= shared
    for cls in (gt.Tensor, gt.Variable, gt.DType, gt.GradientTape, gt.TensorShape):
        public = {n for n in dir(cls) if not n.startswith("_")} - {"count", "index"}  # (tuple's, for TensorShape)
        missing = public - classes[cls.__name__]
        assert not missing, "%s attributes with no stub: %s" % (cls.__name__, sorted(missing))
        stubbed = {n for n in classes[cls.__name__] if not n.startswith("_")}
        extra = stubbed - public
        assert not extra, "%s stubs with no attribute: %s" % (cls.__name__, sorted(extra))


def _stub_exports(text):
    """The names a stub binds at top level (imports, classes, functions, annotated names)."""
    out = set()
    for node in ast.parse(text).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update(a.asname or a.name for a in node.names)
        elif isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            out.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.add(node.target.id)
    return out


def test_every_public_name_has_a_stub():
    # a name the package exports but its stub lacks is, to mypy, an error in the user's code
    stubs = _stubgen.stubs()
    exported = _stub_exports(stubs["__init__.pyi"])
    public = {n for n in dir(gt) if not n.startswith("_") and not isinstance(getattr(gt, n), type(gt))}
    assert not public - exported, "gradtape names with no stub: %s" % sorted(public - exported)
    submodules = _stubgen.package_imports()[0]
    assert {"data", "debugging", "optimizers", "random", "train"} <= set(submodules) <= exported
    for ns in ("math", "nn"):
        module = getattr(gt, ns)
        missing = set(module.__all__) - _stub_exports(stubs["%s.pyi" % ns])
        assert not missing, "gradtape.%s names with no stub: %s" % (ns, sorted(missing))


def test_functions_return_tensor_not_object():
    text = _stubgen.stubs()["_core.pyi"]
    assert "-> object" not in text
    assert "def reduce_sum(input_tensor: TensorLike, axis: Axis = None, keepdims: bool = False, " \
           "name: str | None = None) -> Tensor: ..." in text


@pytest.mark.skipif(shutil.which("mypy") is None and subprocess.run(
    [sys.executable, "-c", "import mypy"], capture_output=True).returncode != 0, reason="mypy is not installed")
def test_mypy_accepts_the_examples(tmp_path):
    examples = sorted(glob.glob(str(ROOT / "examples" / "*.py")))
    assert examples
    # A typed use of the API besides the examples: a wrong type must be caught.
    bad = tmp_path / "bad.py"
    bad.write_text("import gradtape as gt\nx: gt.Tensor = gt.exp(1.0)\ny: int = gt.reduce_sum(x)\n")
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / "cache"))
    # pyproject.toml's [tool.mypy] lets the examples' own dependencies (the examples extra) be
    # untyped or absent; gradtape itself must be found and typed (the bad file below checks it).
    run = lambda files: subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context",  # noqa: E731
                                        "--config-file", str(ROOT / "pyproject.toml"), *files], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    # typed uses the examples do not make: a variable's slice written back, the new names
    good = tmp_path / "good.py"
    good.write_text("import gradtape as gt\nv = gt.Variable([1.0, 2.0, 3.0])\n"
                    "w: gt.Variable = v[1:3].assign([5.0, 6.0])\nt: gt.Tensor = v[0] + gt.slice(v, [0], [1])\n"
                    "ta = gt.TensorArray(gt.float32, size=1).write(0, t)\ns: gt.Tensor = ta.stack()\n")
    ok = run(examples + [str(good)])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = run([str(bad)])
    assert wrong.returncode != 0 and 'expression has type "Tensor"' in wrong.stdout, wrong.stdout
