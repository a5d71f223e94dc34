"""The optimizer and schedule cases shared by tests/test_optimizers.py and the generator
tests/reference/make_optim.py, which ran them under TensorFlow 2.21 (Keras 3) and stored the
trajectories in tests/reference/tf_optimizers.py. Gradients are a fixed function of the
current values computed with NumPy float arithmetic only, so both libraries see the same bits:
    g_w = 2 (w - t) + 0.1 w^2,   g_b = 3 b - 1   (w of shape [3], b a scalar).
"""
import numpy as np

STEPS = 5
W0 = [0.5, -1.0, 2.0]
B0 = 0.25
TARGET = [1.0, 0.0, -1.0]


def grads(w, b, dtype):
    T = np.dtype(dtype).type
    w = np.asarray(w, dtype=dtype)
    b = np.asarray(b, dtype=dtype)
    gw = T(2) * (w - np.asarray(TARGET, dtype=dtype)) + T(0.1) * w * w
    gb = T(3) * b - T(1)
    return gw, gb


# name: (optimizer class, keyword arguments, dtype, schedule or None)
# a schedule is (class name, kwargs) and becomes the learning_rate
CASES = {
    "sgd": ("SGD", {}, "float32", None),
    "sgd_momentum": ("SGD", {"momentum": 0.9}, "float32", None),
    "sgd_nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, "float32", None),
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.1, "weight_decay": 0.05}, "float32", None),
    "sgd_clipvalue": ("SGD", {"learning_rate": 0.1, "clipvalue": 0.5}, "float32", None),
    "adam": ("Adam", {"learning_rate": 0.01}, "float32", None),
    "adam_amsgrad": ("Adam", {"learning_rate": 0.01, "amsgrad": True}, "float32", None),
    "adam_clipnorm": ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}, "float32", None),
    "adam_global_clipnorm": ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.5}, "float32", None),
    "adam_clipvalue": ("Adam", {"learning_rate": 0.01, "clipvalue": 0.1}, "float32", None),
    "adam_float64": ("Adam", {"learning_rate": 0.01, "beta_1": 0.8}, "float64", None),
    "adamw": ("AdamW", {"learning_rate": 0.01}, "float32", None),
    "adamw_amsgrad": ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}, "float32", None),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}, "float32", None),
    "rmsprop_momentum": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}, "float32", None),
    "rmsprop_centered": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}, "float32", None),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}, "float32", None),
    "adadelta": ("Adadelta", {"learning_rate": 1.0}, "float32", None),
    "adamax": ("Adamax", {"learning_rate": 0.01}, "float32", None),
    "nadam": ("Nadam", {"learning_rate": 0.01}, "float32", None),
    "nadam_float64": ("Nadam", {"learning_rate": 0.01}, "float64", None),
    "lion": ("Lion", {"learning_rate": 0.01}, "float32", None),
    "lion_weight_decay": ("Lion", {"learning_rate": 0.01, "weight_decay": 0.5}, "float32", None),
    "adam_exponential": ("Adam", {}, "float32", ("ExponentialDecay", {"initial_learning_rate": 0.05,
                                                                        "decay_steps": 2, "decay_rate": 0.5})),
    "sgd_piecewise": ("SGD", {}, "float32", ("PiecewiseConstantDecay", {"boundaries": [1, 3],
                                                                         "values": [0.1, 0.05, 0.01]})),
    "sgd_cosine": ("SGD", {}, "float32", ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 4,
                                                          "alpha": 0.1})),
    "rmsprop_polynomial": ("RMSprop", {}, "float32", ("PolynomialDecay", {"initial_learning_rate": 0.05,
                                                                           "decay_steps": 3, "power": 2.0})),
}

SCHEDULE_STEPS = [0, 1, 2, 3, 5, 7, 10, 15, 25]
SCHEDULES = {
    "exponential": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4, "decay_rate": 0.5}),
    "exponential_staircase": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4,
                                                   "decay_rate": 0.5, "staircase": True}),
    "piecewise": ("PiecewiseConstantDecay", {"boundaries": [3, 7], "values": [1.0, 0.5, 0.1]}),
    "polynomial": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10}),
    "polynomial_power_cycle": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 4,
                                                   "end_learning_rate": 0.01, "power": 2.0, "cycle": True}),
    "cosine": ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.1}),
    "cosine_warmup": ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.1,
                                      "warmup_steps": 5}),
    "inverse_time": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}),
    "inverse_time_staircase": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2,
                                                    "decay_rate": 0.5, "staircase": True}),
}
