"""Every public function and class of gradtape has a docstring with an example, and every
example runs: doctest over the package's modules and over the core's bound functions and
classes (whose docstrings come from the op manifest, cpp/include/gradtape/ops.def, and from
bind_tensor.cpp). `gt` and `np` are in scope in the examples."""
import doctest
import importlib
import inspect

import numpy as np
import pytest

import gradtape as gt

MODULES = ["gradtape", "gradtape._core", "gradtape._manifest", "gradtape._stubgen", "gradtape._shape",
           "gradtape.tape", "gradtape.custom_gradient", "gradtape.nest", "gradtape.config", "gradtape.test",
           "gradtape.errors", "gradtape.math", "gradtape.nn"]
# The namespaces a user reaches, and the public names in each.
PUBLIC_MODULES = [gt, gt.math, gt.nn, gt.config, gt.nest, gt.test, gt.errors]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, extraglobs={"gt": gt, "np": np})
    for t in tests:
        runner.run(t)
    failures = runner.summarize(verbose=False).failed
    assert failures == 0, "%d doctest failures in %s (run: python -m pytest %s -s)" % (failures, name, __file__)


def _public(module):
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    for n in names:
        obj = getattr(module, n)
        if inspect.ismodule(obj) or not (callable(obj) or inspect.isclass(obj)):
            continue
        yield "%s.%s" % (module.__name__, n), obj


def _has_example(obj):
    return ">>>" in (obj.__doc__ or "")


def test_every_public_function_and_class_has_an_example():
    missing = sorted({q for m in PUBLIC_MODULES for q, obj in _public(m) if not _has_example(obj)})
    assert not missing, "public functions and classes with no docstring example: %s" % missing


@pytest.mark.parametrize("cls", [gt.Tensor, gt.Variable, gt.GradientTape, gt.TensorShape], ids=lambda c: c.__name__)
def test_every_public_method_has_a_docstring(cls):
    missing = []
    for n in dir(cls):
        if n.startswith("_"):
            continue
        attr = inspect.getattr_static(cls, n)
        doc = getattr(attr, "__doc__", None) or ""
        if isinstance(attr, property):
            doc = attr.fget.__doc__ if attr.fget is not None else doc
        if not doc.strip() or doc.strip().startswith("(self"):
            missing.append(n)
    assert not missing, "%s methods with no docstring: %s" % (cls.__name__, missing)
