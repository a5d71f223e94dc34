"""gt.einsum / gt.linalg.einsum (python/gradtape/_composite.py): values against numpy.einsum in
float64, gradients (first and second order, reverse and forward) against central differences,
and TensorFlow 2.21's exception types for bad equations and shapes (printed by its tf.einsum,
stored here as literals)."""
import numpy as np
import pytest

import gradtape as gt

# (equation, operand shapes); numpy.einsum gives the expected values.
EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                      # implicit mode
    ("i,i->", [(5,), (5,)]),                          # dot product
    ("i,i", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),                        # outer product
    ("ij->ji", [(2, 3)]),
    ("ba", [(2, 3)]),                                 # implicit: sorted output, a transpose
    ("ii->i", [(3, 3)]),                              # diagonal
    ("ii->", [(3, 3)]),                               # trace
    ("ii", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("bij,bjk->bik", [(4, 2, 3), (4, 3, 5)]),         # batched matmul
    ("bij,bkj->bki", [(2, 3, 4), (2, 5, 4)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),                  # elementwise
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("ijk,jl->ikl", [(2, 3, 4), (3, 5)]),
    ("abc,cd,dbe->ae", [(2, 3, 4), (4, 5), (5, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 6)]),
    ("ij,jk,kl", [(2, 3), (3, 4), (4, 6)]),
    ("ij,jk,kl->ik", [(2, 3), (3, 4), (4, 6)]),      # l summed in its only operand
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("a,b,c,d,e->", [(2,), (3,), (2,), (1,), (2,)]),
    ("ab,ab,ab->ab", [(2, 3)] * 3),
    ("iij,jkk->ik", [(2, 2, 3), (3, 4, 4)]),
    ("ij,->i", [(2, 3), ()]),                         # a scalar operand
    ("->", [()]),
    ("...ij->...ji", [(5, 2, 3)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (3, 3, 4)]),   # ellipsis broadcasting
    ("...ij,...jk->...ik", [(6, 2, 3), (3, 4)]),      # ellipses of different ranks
    ("ij...,jk...->ik...", [(2, 3, 5), (3, 4, 1)]),
    ("i...j,j...k->i...k", [(2, 5, 3), (3, 4)]),
    ("...ij", [(4, 2, 3)]),                           # implicit: the ellipsis first
    ("ij...", [(2, 3, 4)]),
    ("...,...,...->...", [(2, 1), (1, 3), (3,)]),
    ("...ij,...ij->...", [(2, 3), (4, 2, 3)]),
    ("i...i->...", [(3, 2, 3)]),
    ("ij->ij...", [(2, 3)]),
    ("ij...->ij", [(2, 3)]),                          # an ellipsis of no axes
    ("Ij,jK->IK", [(2, 3), (3, 4)]),                  # uppercase labels
    ("aB", [(2, 3)]),                                 # implicit: uppercase sorts first
    ("ij, jk -> ik", [(2, 3), (3, 4)]),               # spaces are ignored
    ("ij,jk->ik", [(2, 0), (0, 4)]),                  # an empty contraction: zeros
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
]


def _operands(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("equation,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_values_match_numpy(equation, shapes):
    xs = _operands(shapes)
    expected = np.einsum(equation.replace(" ", ""), *xs)
    got = gt.einsum(equation, *[gt.constant(x) for x in xs])
    assert got.dtype == gt.float64
    assert tuple(got.shape) == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_linalg_alias_float32_integers_and_keywords():
    assert gt.linalg.einsum is gt.einsum
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = gt.linalg.einsum("ij,jk->ik", a, b, name="mm", optimize="greedy")
    assert got.dtype == gt.float32
    np.testing.assert_allclose(got.numpy(), a @ b, rtol=1e-6)
    ints = gt.einsum("ij,jk->ik", gt.constant(a.astype(np.int32)), gt.constant(b.astype(np.int32)))
    assert ints.dtype == gt.int32 and ints.numpy().tolist() == (a @ b).astype(np.int32).tolist()
    assert gt.einsum("ii->i", gt.reshape(gt.range(9), [3, 3])).numpy().tolist() == [0, 4, 8]
    # the TF docstring's example: the trace is the sum of the diagonal
    m = gt.reshape(gt.range(9), [3, 3])
    assert int(gt.einsum("ii", m)) == int(gt.reduce_sum(gt.einsum("ii->i", m))) == 12


def test_greedy_order_keeps_intermediates_small():
    # the chain (2x100)(100x100)(100x1): contracting the last pair first, or the first, keeps
    # every intermediate at most 2x100; the result is the same either way
    xs = _operands([(2, 100), (100, 100), (100, 1)])
    got = gt.einsum("ij,jk,kl->il", *[gt.constant(x) for x in xs])
    np.testing.assert_allclose(got.numpy(), xs[0] @ xs[1] @ xs[2], rtol=1e-12)


GRAD_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("iij->ji", [(2, 2, 3)]),
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(1, 2, 3), (2, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("i,j->ij", [(2,), (3,)]),
    ("abc,cd,dbe->ae", [(2, 2, 3), (3, 2), (2, 2, 2)]),
    ("ij,->i", [(2, 3), ()]),
]


@pytest.mark.parametrize("equation,shapes", GRAD_CASES, ids=[e for e, _ in GRAD_CASES])
def test_gradients_match_central_differences(equation, shapes):
    xs = _operands(shapes, seed=1)
    for i in range(len(xs)):
        def f(x, i=i):
            args = [gt.constant(v) for v in xs]
            args[i] = x
            return gt.einsum(equation, *args)
        theoretical, numerical = gt.test.compute_gradient(f, [xs[i]])
        np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("equation,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 2)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("...ij,...jk,kl->...il", [(2, 2, 3), (3, 2), (2, 2)]),
], ids=["matmul", "diagonal", "ellipsis-three"])
def test_second_order_and_forward_mode(equation, shapes):
    xs = _operands(shapes, seed=2)

    def f(*args):
        return gt.reduce_sum(gt.square(gt.einsum(equation, *args)))

    gt.test.check_gradients(f, xs, order=2)
    gt.test.check_jvp(lambda *args: gt.einsum(equation, *args), xs)


# (equation, operand shapes, TensorFlow 2.21's exception type)
ERRORS = [
    ("ij,jk->ik", [(2, 3), (2, 4)], gt.errors.InvalidArgumentError),   # j is 3 and 2
    ("ij,jk", [(2, 3)], ValueError),                                   # one input for two terms
    ("ij,jk->ik", [(2, 3), (3, 4), (3, 4)], ValueError),
    ("ij->ij", [], ValueError),
    ("ij->ik", [(2, 3)], ValueError),                                  # k in no input
    ("ij->ii", [(2, 3)], ValueError),                                  # i twice in the output
    ("ijk->ij", [(2, 3)], gt.errors.InvalidArgumentError),             # rank 2 for 3 labels
    ("ij->j", [(2, 3, 4)], gt.errors.InvalidArgumentError),
    ("ijk...->ij", [(2, 3)], gt.errors.InvalidArgumentError),          # rank below the labels
    ("ij,jk,kl->il", [(2, 3), (3, 4, 1), (4, 6)], ValueError),         # (three inputs: ValueError)
    ("ii->i", [(2, 3)], gt.errors.InvalidArgumentError),               # a non-square diagonal
    ("ij,ij->ij", [(2, 3), (2, 1)], gt.errors.InvalidArgumentError),   # named labels do not broadcast
    ("i,i,i->i", [(3,), (3,), (2,)], gt.errors.InvalidArgumentError),
    ("i.j->ij", [(2, 3)], ValueError),
    ("i1->i", [(2, 3)], ValueError),
    ("ij->i->j", [(2, 3)], ValueError),
    ("ij..->ij", [(2, 3)], ValueError),
    ("ij-->ij", [(2, 3)], ValueError),
    ("ij->ij,", [(2, 3)], ValueError),
    ("ij0...->ij", [(2, 3, 1)], ValueError),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 3, 4)], gt.errors.InvalidArgumentError),  # 2 vs 3
    ("ij...->i", [(2, 3, 4)], gt.errors.InvalidArgumentError),         # the ellipsis dropped
    ("i...,...i", [(2, 3), (3, 2)], gt.errors.InvalidArgumentError),  # implicit: twice, dropped
    ("...ij,...jk,...kl->il", [(1, 2, 3), (5, 3, 4), (4, 6)], gt.errors.InvalidArgumentError),
    ("i...->...i...", [(2, 3)], ValueError),
]


@pytest.mark.parametrize("equation,shapes,error", ERRORS, ids=[e for e, _, _ in ERRORS])
def test_errors_are_tensorflows(equation, shapes, error):
    with pytest.raises(error):
        gt.einsum(equation, *[gt.ones(s, dtype=gt.float64) for s in shapes])


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="Invalid keyword arguments for einsum: foo"):
        gt.einsum("ij->ji", gt.ones([2, 3]), foo=1)
