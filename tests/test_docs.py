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

from gradtape import _stubgen

MODULES = ["gradtape", "gradtape._core", "gradtape._manifest", "gradtape._stubgen", "gradtape._shape",
           "gradtape.tape", "gradtape.custom_gradient", "gradtape.nest", "gradtape.config", "gradtape.test",
           "gradtape.errors", "gradtape._errors", "gradtape.math", "gradtape.nn", "gradtape._dropout",
           "gradtape.module", "gradtape.specs", "gradtape.control_flow", "gradtape.eager", "gradtape.random",
           "gradtape.debugging", "gradtape.data", "gradtape.data.dataset", "gradtape.data.experimental",
           "gradtape.optimizers", "gradtape.optimizers.optimizer", "gradtape.optimizers.algorithms",
           "gradtape.optimizers.schedules", "gradtape.train", "gradtape.train.checkpoint", "gradtape.train.manager",
           "gradtape._composite", "gradtape.linalg", "gradtape._interop", "gradtape.experimental",
           "gradtape.experimental.dlpack", "gradtape.autodiff", "gradtape._function",
           "gradtape._slice_assign", "gradtape._utilities", "gradtape._composite_more",
           "gradtape._tensor_array", "gradtape._config_threading", "gradtape._config_experimental",
           "gradtape.initializers", "gradtape.image", "gradtape.dtypes", "gradtape._threadpoolctl",
           "gradtape.saved_model", "gradtape._indexed_slices"]
# The namespaces a user reaches, and the public names in each.
PUBLIC_MODULES = [gt, gt.math, gt.nn, gt.dtypes, gt.image, gt.initializers, gt.config, gt.config.threading, gt.config.experimental, gt.nest, gt.test, gt.errors, gt.random, gt.debugging, gt.data,
                  gt.data.experimental, gt.optimizers, gt.optimizers.schedules, gt.train, gt.linalg, gt.experimental, gt.experimental.dlpack,
                  gt.autodiff, gt.math.special, gt.saved_model]


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


def test_every_public_namespace_is_checked():
    # the package's submodules (as its __init__.py imports them, which the stubs export too) and
    # theirs (a module in an __all__): each must be in PUBLIC_MODULES
    found, stack = set(), [getattr(gt, n) for n in _stubgen.package_imports()[0]]
    while stack:
        m = stack.pop()
        found.add(m.__name__)
        stack += [getattr(m, n) for n in getattr(m, "__all__", []) if inspect.ismodule(getattr(m, n))]
    missing = sorted(found - {m.__name__ for m in PUBLIC_MODULES})
    assert not missing, "public namespaces not in PUBLIC_MODULES: %s" % missing


def test_every_public_example_is_run():
    # doctest finds a function's or class's examples in the module that defines it
    missing = sorted({"%s (defined in %s)" % (q, obj.__module__) for m in PUBLIC_MODULES for q, obj in _public(m)
                      if getattr(obj, "__module__", None) not in MODULES})
    assert not missing, "public names whose examples no doctest runs (add the module to MODULES): %s" % missing


@pytest.mark.parametrize("cls", [gt.Tensor, gt.Variable, gt.GradientTape, gt.TensorShape, gt.Module, gt.TensorSpec,
                                 gt.data.Dataset, gt.data.Iterator, gt.random.Generator, gt.train.Checkpoint,
                                 gt.train.CheckpointLoadStatus, gt.train.CheckpointManager, gt.optimizers.Optimizer,
                                 gt.optimizers.schedules.LearningRateSchedule], ids=lambda c: c.__name__)
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
