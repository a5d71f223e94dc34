"""The op manifest, as Python sees it.

The manifest itself is C++ data: one row per op in `cpp/include/gradtape/ops.def`, compiled
into the core and returned by `gradtape._core.manifest()`. This module gives those rows names
and derives what Python needs from them: which names `gt`, `gt.math`, `gt.nn` (and later
`gt.linalg`) export, the primitives whose gradient rules the tests must check, and the
catalogue the fuzz driver calls. The stubs (`_stubgen.py`) and the API reference
(`docs/api-ops.md`) are generated from the same rows.
"""
from typing import Dict, List, NamedTuple

from . import _core

NAMESPACES = ("gt", "math", "nn", "linalg")


class Row(NamedTuple):
    """One manifest row: a public function or a primitive op.

    >>> row = by_name()["exp"]
    >>> row.kind, row.namespaces, row.differentiable
    ('Unary', ('gt', 'math'), True)
    """

    name: str              # the Python name (and the C++ function's)
    kind: str              # Unary, Binary, Reduce, Custom or Internal (how it is bound)
    namespaces: tuple      # of NAMESPACES: the modules exporting it
    signature: str         # typed Python signature, "(x: TensorLike, ...) -> Tensor"
    doc: str               # the docstring (with a doctest example)
    op: str                # the primitive's OpId name ("" when the row is not a primitive)
    mask: str              # its structural-zero mask rule; "NoGrad": it has no gradient rule
    jvp: str               # its forward-mode rule: "Sym" (from the vjp), "Rule" (its own), "NoGrad"

    @property
    def primitive(self) -> bool:
        return bool(self.op)

    @property
    def differentiable(self) -> bool:
        """A primitive with a gradient rule (the rows the gradient checks must cover)."""
        return self.primitive and self.mask != "NoGrad"

    @property
    def public(self) -> bool:
        return self.kind != "Internal"

    @property
    def family(self) -> str:
        """The calling convention: Unary (one tensor), Binary (x, y), Reduce (input_tensor,
        axis, keepdims) or Custom. A Custom row with a regular signature (truediv, reduce_any)
        has that family too: the fuzz driver and the tests call it as such.

        >>> by_name()["truediv"].family, by_name()["identity"].family, by_name()["gather"].family
        ('Binary', 'Unary', 'Custom')
        """
        if self.kind in ("Unary", "Binary", "Reduce", "Internal"):
            return self.kind
        params = [p.split(":")[0].strip() for p in self.signature[1:self.signature.rindex(")")].split(",")]
        if params[-1] == "name":
            params = params[:-1]
        if params == ["x", "y"]:
            return "Binary"
        if params[:1] == ["input_tensor"] and params[1:] == ["axis", "keepdims"]:
            return "Reduce"
        if len(params) == 1 and "TensorLike" in self.signature.split(",")[0]:
            return "Unary"
        return "Custom"


def rows() -> List[Row]:
    """Every manifest row, in the manifest's order.

    >>> [r.name for r in rows()][:3]
    ['negative', 'abs', 'sign']
    """
    return [Row(name, kind, tuple(ns.split()), sig, doc, op, mask, jvp)
            for name, kind, ns, sig, doc, op, mask, jvp in _core.manifest()]


def by_name() -> Dict[str, Row]:
    """The rows by Python name.

    >>> by_name()["matmul"].kind
    'Custom'
    """
    return {r.name: r for r in rows()}


def exports(namespace: str) -> List[str]:
    """The names a namespace ("gt", "math", "nn", "linalg") exports, in manifest order.

    >>> "relu" in exports("nn"), "relu" in exports("gt")
    (True, False)
    """
    if namespace not in NAMESPACES:
        raise ValueError("unknown namespace %r (one of %s)" % (namespace, ", ".join(NAMESPACES)))
    return [r.name for r in rows() if namespace in r.namespaces]


def export_into(namespace: str, module_globals: dict) -> List[str]:
    """Binds a namespace's functions into a module's globals; returns their names."""
    names = exports(namespace)
    for n in names:
        module_globals[n] = getattr(_core, n)
    return names


def qualified_names() -> List[str]:
    """Each public function under each of its namespaces: "exp", "math.exp", "nn.relu", ...

    >>> [q for q in qualified_names() if q.endswith("softplus")]
    ['math.softplus', 'nn.softplus']
    """
    out = []
    for r in rows():
        for ns in r.namespaces:
            out.append(r.name if ns == "gt" else "%s.%s" % (ns, r.name))
    return out
