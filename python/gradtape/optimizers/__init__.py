"""gradtape.optimizers: Keras 3's optimizers (tf.keras.optimizers, which tf.optimizers is),
each update one fused C++ pass per variable. See docs/api-training.md."""
from __future__ import annotations

from typing import Any, Dict

from . import schedules  # noqa: F401
from .algorithms import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Lion, Nadam, RMSprop  # noqa: F401
from .optimizer import Optimizer  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion",
           "schedules", "get", "serialize", "deserialize"]

_BY_NAME = {c.__name__.lower(): c for c in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion)}


def get(identifier) -> Optimizer:
    """An optimizer from a name ("adam"), a config dict, or an optimizer (returned as is).

    >>> gt.optimizers.get("adam")
    <gt.optimizers.Adam name='adam'>
    >>> opt = gt.optimizers.SGD()
    >>> gt.optimizers.get(opt) is opt
    True
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError("Could not interpret optimizer identifier: %s" % identifier)
        return cls()
    raise ValueError("Could not interpret optimizer identifier: %s" % (identifier,))


def serialize(optimizer) -> Dict[str, Any]:
    """The optimizer as a dict: its class name and its config.

    >>> config = gt.optimizers.serialize(gt.optimizers.SGD(momentum=0.5))
    >>> config["class_name"], config["config"]["momentum"]
    ('SGD', 0.5)
    """
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None) -> Optimizer:
    """The optimizer serialize made the dict of (custom_objects: more classes, by name).

    >>> opt = gt.optimizers.deserialize(gt.optimizers.serialize(gt.optimizers.RMSprop(rho=0.8)))
    >>> type(opt).__name__, opt.rho
    ('RMSprop', 0.8)
    """
    cls = dict(_BY_NAME, **{k.lower(): v for k, v in (custom_objects or {}).items()}).get(config["class_name"].lower())
    if cls is None:
        raise ValueError("Unknown optimizer: %s" % config["class_name"])
    return cls.from_config(config["config"], custom_objects)
