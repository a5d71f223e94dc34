"""Generates docs/tf-coverage.md: which of TensorFlow 2.21's public names gradtape has.

`python -m gradtape._stubgen` writes it with the other generated files (and `--check`, run by
tests/test_stubs.py, fails when it is out of date). It compares three things, none of which
imports TensorFlow:

- TensorFlow's names: docs/data/tf-names.txt, extracted once from an installed TensorFlow by
  docs/data/extract_tf_names.py (one `tf.dotted.name kind` a line);
- the op manifest (gradtape._manifest.rows()): which names are C++ ops and how they
  differentiate;
- the package itself: a TensorFlow name `tf.a.b` exists when `gradtape.a.b` does (a module found
  there must be one of gradtape's own).
"""
import collections
import enum
import inspect
import os
import types
from typing import Dict, List, Optional, Tuple

from . import _manifest

DATA = os.path.join("docs", "data", "tf-names.txt")
PAGE = os.path.join("docs", "tf-coverage.md")
MISSING = object()  # what lookup() returns for a name gradtape does not have


def read_names(path: str) -> Tuple[str, List[Tuple[str, str]], Dict[str, Optional[List[str]]]]:
    """(the header line, [(name, kind), ...], {name: TensorFlow's parameter names or None})
    from a tf-names.txt file."""
    with open(path) as f:
        lines = f.read().splitlines()
    header = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else ""
    out, params = [], {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            name, kind, plist = line.split()
            out.append((name, kind))
            params[name] = None if plist == "-" else [] if plist == "()" else plist.split(",")
    return header, out, params


def missing_arguments(obj, tf_params: Optional[List[str]]) -> Optional[List[str]]:
    """TensorFlow's parameters that gradtape's function (or class constructor) does not take
    by name; None when either signature is unknown. A `**kwargs` of gradtape's takes any
    keyword (and may ignore it: the docstring says).

    >>> import gradtape as gt
    >>> missing_arguments(gt.reduce_sum, ["input_tensor", "axis", "keepdims", "name"])
    []
    """
    if tf_params is None:
        return None
    if isinstance(obj, type) and issubclass(obj, enum.Enum):
        return []  # (an enum's "constructor" is a lookup by value)
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    ours = sig.parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in ours):
        return []
    names = {p.name for p in ours}
    return [p for p in tf_params if not p.startswith("*") and p not in names]


def lookup(name: str):
    """The gradtape object at TensorFlow's dotted name (`tf.math.exp` -> gt.math.exp), or
    MISSING when there is none (`tf.newaxis` is None in both). A module found on the way must
    be one of gradtape's.

    >>> lookup("tf.math.exp") is MISSING, lookup("tf.newaxis") is MISSING, lookup("tf.signal.fft") is MISSING
    (False, False, True)
    """
    import gradtape
    obj = gradtape
    for part in name.split(".")[1:]:
        if part.startswith("_"):
            return MISSING
        obj = getattr(obj, part, MISSING)
        if obj is MISSING:
            return MISSING
        if isinstance(obj, types.ModuleType) and not obj.__name__.startswith("gradtape"):
            return MISSING
    return obj


def _namespace(name: str) -> str:
    return name.rsplit(".", 1)[0]


def how(name: str, obj) -> str:
    """How gradtape provides a name: a manifest op (with how it differentiates), a module, or
    Python."""
    from . import _core
    if isinstance(obj, types.ModuleType):
        return "module"
    if isinstance(obj, _core.DType):
        return "dtype"
    last = name.rsplit(".", 1)[1]
    row = _manifest.by_name().get(last)
    if row is not None and getattr(_core, last, None) is obj:
        if row.differentiable:
            return "op: gradient rule" + (", jvp rule" if row.jvp == "Rule" else "")
        if row.primitive:
            return "op: no gradient"
        return "op: composed of ops"
    if getattr(obj, "__module__", None) == "gradtape._core":
        return "C++ (bound)"
    return "Python"


def _gradtape_public(module) -> List[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(module, n, None)
        if isinstance(obj, types.ModuleType) and not obj.__name__.startswith("gradtape"):
            continue
        if type(obj).__name__ == "_Feature":  # from __future__ import annotations
            continue
        out.append(n)
    return sorted(out)


def _tf_name_of(module_name: str) -> str:
    return "tf" + module_name[len("gradtape"):]


def _gradtape_modules() -> List[types.ModuleType]:
    """gradtape and its public submodules: those its __init__.py imports with `from . import`
    (what the stubs export) and, below them, the modules in an `__all__` (tests/test_docs.py
    walks the same way)."""
    import gradtape
    from . import _stubgen
    found = {"gradtape": gradtape}
    stack = [getattr(gradtape, n) for n in _stubgen.package_imports()[0]]
    while stack:
        m = stack.pop()
        if m.__name__ in found:
            continue
        found[m.__name__] = m
        stack += [getattr(m, n) for n in getattr(m, "__all__", []) if isinstance(getattr(m, n), types.ModuleType)]
    return [found[k] for k in sorted(found)]


def _code_list(names: List[str]) -> str:
    return ", ".join("`%s`" % n for n in names)


def page(data_path: Optional[str] = None) -> str:
    """The text of docs/tf-coverage.md."""
    header, names, tf_params = read_names(data_path or DATA)
    present: Dict[str, object] = {}
    for name, kind in names:
        obj = lookup(name)
        if obj is not MISSING:
            present[name] = obj
    by_ns: Dict[str, List[Tuple[str, str]]] = {"tf": []}
    for name, kind in names:  # every namespace gets a row, even one with no names of its own
        if kind == "module":
            by_ns.setdefault(name, [])
    for name, kind in names:
        if kind != "module":
            by_ns.setdefault(_namespace(name), []).append((name, kind))
    by_ns = collections.OrderedDict(sorted(by_ns.items(), key=lambda kv: kv[0].split(".")))
    tf_names = {n for n, _ in names}
    # gradtape's names beyond TensorFlow's, by the TensorFlow namespace they would have
    extra: Dict[str, List[str]] = {}
    for m in _gradtape_modules():
        ns = _tf_name_of(m.__name__)
        for n in _gradtape_public(m):
            if isinstance(getattr(m, n), types.ModuleType):
                continue
            if ns + "." + n not in tf_names:
                extra.setdefault(ns, []).append(n)

    funcs = [(n, k) for n, k in names if k != "module"]
    total, have = len(funcs), sum(1 for n, _ in funcs if n in present)
    ops = sum(1 for n, _ in funcs if n in present and how(n, present[n]).startswith("op"))
    lines = [
        "# TensorFlow coverage",
        "",
        "<!-- Generated by `python -m gradtape._stubgen` (python/gradtape/_tfcoverage.py): do not edit. -->",
        "",
        "Which of TensorFlow's public names exist in gradtape, namespace by namespace. This page is",
        "generated from three sources, none of which imports TensorFlow: the list of %s" % header.split(" (")[0],
        "names stored in `docs/data/tf-names.txt` (extracted once by `docs/data/extract_tf_names.py`;",
        "it leaves out `tf.compat`, `tf.raw_ops` and `tf.keras`), the op manifest",
        "(`cpp/include/gradtape/ops.def`), and the package itself. `tests/test_stubs.py` fails when",
        "it is out of date.",
        "",
        "A name *exists* when `import gradtape as tf` resolves the same dotted path. That means",
        "TensorFlow's name with TensorFlow's arguments and defaults, tested against TensorFlow's",
        "behaviour (`tests/tf_programs/` runs programs from TensorFlow's guides and compares their",
        "output with TensorFlow's); it does not mean every argument value is supported: gradtape",
        "has TensorFlow's real dtypes and bool (no complex; strings in `gt.data` only: [dtypes](dtypes.md)), traces",
        "`tf.function` without AutoGraph (control flow on tensors is written with `tf.cond` and",
        "`tf.while_loop`: [gt.function](guides/function.md)), has no SavedModel, and differs on purpose where",
        "[the choices page](choices.md) says so. A TensorFlow program runs unchanged when every",
        "name it uses is in the tables below and it stays within those limits.",
        "",
        "**{:,} of TensorFlow's {:,} public functions, classes and constants exist in gradtape** ({:,} of".format(have, total, ops),
        "them are ops from the manifest). The *how* column says what each is: `op: gradient rule` is a",
        "C++ primitive with its own gradient (and `jvp rule`: its own forward-mode rule, otherwise",
        "derived from the gradient's), `op: composed of ops` is written with primitives and",
        "differentiates through them, `op: no gradient` has none (as in TensorFlow); `C++ (bound)`",
        "is a class of the core (`Tensor`, `Variable`, `DType`), `Python` a class, function or",
        "constant written in Python over the ops. The last column lists the parameters of",
        "TensorFlow's function (or constructor) that gradtape's does not take by name (`?`: a",
        "signature Python cannot read); a gradtape function with `**kwargs` takes them all,",
        "and its docstring says which it ignores.",
        "",
        "## Summary",
        "",
        "| namespace | TensorFlow names | in gradtape | gradtape only |",
        "|---|---:|---:|---:|",
    ]
    for ns, items in by_ns.items():
        n_have = sum(1 for n, _ in items if n in present)
        ns_link = "[`%s`](#%s)" % (ns, ns.replace(".", "")) if n_have else "`%s`" % ns
        ns_ok = ns == "tf" or lookup(ns) is not MISSING
        if not items and not ns_ok:
            lines.append("| `%s` | 0 | — | |" % ns)
            continue
        lines.append("| %s | %d | %s | %s |" % (ns_link, len(items), n_have if ns_ok else "—",
                                               len(extra.get(ns, [])) or ""))
    lines += ["", "— : gradtape has no such namespace.", ""]
    for ns, items in by_ns.items():
        got = [(n, k) for n, k in items if n in present]
        if not got:
            continue
        lines += ["## %s" % ns, "", "%d of %d names." % (len(got), len(items)), "",
                  "| name | kind | how | TensorFlow's arguments it lacks |", "|---|---|---|---|"]
        for n, k in got:
            lacks = missing_arguments(present[n], tf_params.get(n)) if k in ("function", "class") else []
            lacks_text = "?" if lacks is None else ", ".join("`%s`" % a for a in lacks)
            lines.append("| `%s` | %s | %s | %s |" % (n, k, how(n, present[n]), lacks_text))
        missing = [n.rsplit(".", 1)[1] for n, _ in items if n not in present]
        lines.append("")
        if missing:
            lines += ["Not in gradtape: %s." % _code_list(missing), ""]
        if extra.get(ns):
            lines += ["Beyond TensorFlow, `%s` also has: %s." % ("gt" + ns[2:], _code_list(extra[ns])), ""]
    # gradtape namespaces TensorFlow does not have
    for ns in sorted(extra):
        if ns not in by_ns:
            lines += ["## %s (gradtape only)" % ns, "", "%s." % _code_list(extra[ns]), ""]
    return "\n".join(lines)


def generated(root: str) -> Dict[str, str]:
    """{docs/tf-coverage.md: text} when the repository's name list is there, else {}."""
    path = os.path.join(root, DATA)
    if not os.path.exists(path):
        return {}
    return {PAGE: page(path)}
