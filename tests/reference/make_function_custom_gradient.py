"""Runs the cases of tests/reference/function_custom_gradient_cases.py under TensorFlow 2.21 and
prints the TF = {...} and TF_ERRORS = {...} literals that file holds:

    /work/tfenv/bin/python tests/reference/make_function_custom_gradient.py
"""
import os
import pathlib
import pprint
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import tensorflow as tf  # noqa: E402

from function_custom_gradient_cases import CASES, ERRORS, to_lists  # noqa: E402


def main():
    tf.keras.utils.set_random_seed(0)
    results = {}
    for case in CASES:
        try:
            results[case.__name__] = to_lists(case(tf))
        except Exception as e:  # (a case TF refuses: its exception type)
            results[case.__name__] = ("raises", type(e).__name__)
    errors = {}
    for case in ERRORS:
        try:
            case(tf)
            errors[case.__name__] = None
        except Exception as e:
            errors[case.__name__] = type(e).__name__
    print("TF = " + pprint.pformat(results, width=110))
    print("TF_ERRORS = " + pprint.pformat(errors, width=110))


if __name__ == "__main__":
    main()
