"""A griffe extension for the docs site's API reference (mkdocs.yml loads it by path).

gradtape's namespaces are filled at import time (gt.math exports the op manifest's rows, bound
in the C++ module), so the reference inspects the imported package (force_inspection) and this
extension:

- marks public, in each public namespace, the names a user reaches there (its `__all__`, or
  its names without an underscore), as tests/test_docs.py counts them: they are aliases of
  objects defined elsewhere (gradtape._core, gradtape.tape, ...), which griffe would otherwise
  leave out as imports;
- points the aliases of bound functions at gradtape._core (pybind11's qualified names lead
  nowhere), and describes from the live object a function whose alias leads nowhere (made by
  a factory: gt.math.is_nan) or that shadows its submodule (gt.custom_gradient);
- takes the typed signature pybind11 puts first in a bound function's docstring (the
  manifest's) as the function's annotations, and drops the line;
- fences the doctest examples (`>>>` runs and their output) as ```pycon blocks, so Markdown
  neither reflows them nor reads `[[0, 1]]` as a link.
"""
import ast
import inspect
import re
import types

import griffe

_PROMPT = re.compile(r"^(\s*)>>> ")


def fence_doctests(text):
    """Wraps each run of doctest lines (from a `>>>` line to the next blank line) in a
    ```pycon fence; text already inside a fence is left alone."""
    lines, out, i, in_fence = text.splitlines(), [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        m = _PROMPT.match(line) if not in_fence else None
        if not m:
            out.append(line)
            i += 1
            continue
        indent = m.group(1)
        out.append(indent + "```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(indent + "```")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def _take_signature_line(obj):
    """pybind11 writes a bound function's typed signature (the manifest's) as its docstring's
    first line: move its annotations onto the function, and drop the line."""
    text = obj.docstring.value
    first, _, rest = text.partition("\n")
    if not re.match(r"^%s\(.*\)( -> .+)?$" % re.escape(obj.name), first.strip()):
        return text
    if obj.is_function:
        try:
            node = ast.parse("def %s: ...\n" % first.strip()).body[0]
        except SyntaxError:
            return rest.lstrip("\n")
        args = node.args
        annotated = {a.arg: a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs}
        for p in obj.parameters:
            if annotated.get(p.name) is not None:
                p.annotation = ast.unparse(annotated[p.name])
        if node.returns is not None:
            obj.returns = ast.unparse(node.returns)
    return rest.lstrip("\n")


def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not isinstance(getattr(module, n, None), types.ModuleType)]


class GradtapeDocs(griffe.Extension):
    def on_instance(self, *, obj, **kwargs):
        if obj.docstring is not None and obj.docstring.value:
            obj.docstring.value = fence_doctests(_take_signature_line(obj))

    def on_package(self, *, pkg, **kwargs):
        if pkg.name != "gradtape":
            return
        from gradtape import _tfcoverage  # the public namespaces, as the coverage page finds them
        core = pkg["_core"]
        for runtime in _tfcoverage._gradtape_modules():
            module = pkg if runtime.__name__ == "gradtape" else pkg[runtime.__name__[len("gradtape."):]]
            for n in _public_names(runtime):
                member = module.members.get(n)
                value = getattr(runtime, n)
                # pybind11 gives bound functions a __qualname__ inside its own record type,
                # so the alias points nowhere: point it at the function in gradtape._core
                if member is not None and member.is_alias and member.target_path.startswith("gradtape._core.pybind11"):
                    member.target = core[member.target_path.rsplit(".", 1)[1]]
                lost = member is None or (not _resolves(member) if member.is_alias else member.is_module)
                if lost and callable(value) and not isinstance(value, type):
                    # a function made by a factory (its alias names a closure), or one that
                    # shadows its own submodule (gt.custom_gradient): describe the object itself
                    member = _function(n, value)
                    module.set_member(n, member)
                if member is not None:
                    member.public = True


def _resolves(alias):
    try:
        alias.target  # noqa: B018
    except Exception:  # AliasResolutionError, CyclicAliasError
        return False
    return True


def _function(name, value):
    """A griffe Function for a runtime function (signature and docstring as inspect sees them)."""
    params = []
    for p in inspect.signature(value).parameters.values():
        default = None if p.default is inspect.Parameter.empty else repr(p.default)
        params.append(griffe.Parameter(p.name, kind=griffe.ParameterKind(p.kind.description), default=default))
    func = griffe.Function(name, parameters=griffe.Parameters(*params))
    func.docstring = griffe.Docstring(fence_doctests(inspect.cleandoc(value.__doc__ or "")), parent=func)
    return func
