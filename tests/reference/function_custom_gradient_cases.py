"""gt.custom_gradient inside gt.function: each case is a function of `ns` (the `tensorflow` or
the `gradtape` module: the code is the same) returning a nest of tensors (None for a None
gradient). tests/test_function_custom_gradient.py runs them under gradtape and compares with
TF's answers, stored in TF below by make_function_custom_gradient.py (run it with TensorFlow
2.21 and paste its output over TF):

    /work/tfenv/bin/python tests/reference/make_function_custom_gradient.py
"""
import tempfile

inf = float("inf")  # (in the TF literal below)

X = [0.5, 100.0, -3.0]
V0 = [2.0, 3.0, 4.0]


def _log1pexp(ns):
    @ns.custom_gradient
    def log1pexp(x):
        e = ns.exp(x)

        def grad(dy):
            return dy * (1 - 1 / (1 + e))
        return ns.math.log(1 + e), grad
    return log1pexp


def _sq(ns):
    @ns.custom_gradient
    def sq(x):
        def grad(dy):
            return dy * 3.0 * x  # (not 2x: the rule, not the forward's ops, is differentiated)
        return x * x, grad
    return sq


def _clip(ns):
    @ns.custom_gradient
    def clip_grad(x):
        return ns.identity(x), lambda dy: ns.clip_by_norm(dy, 1.0)
    return clip_grad


def log1pexp_inside(ns):
    log1pexp = _log1pexp(ns)

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(log1pexp(x))
        return y, t.gradient(y, x)
    x = ns.constant(X)
    return [step(x), step(x), step(x * 0.5)]


def log1pexp_outside(ns):
    log1pexp = _log1pexp(ns)
    f = ns.function(lambda x: ns.reduce_sum(log1pexp(x) * x))
    out = []
    for k in range(3):
        x = ns.constant(X) * float(k + 1)
        with ns.GradientTape() as t:
            t.watch(x)
            y = f(x)
        out.append([y, t.gradient(y, x)])
    return out


def _scale(ns, v):
    @ns.custom_gradient
    def scale(x):
        def grad(dy, variables):
            return dy * 10.0, [dy * x * 100.0]
        return x * v, grad
    return scale


def variables_inside(ns):
    v = ns.Variable(V0)
    scale = _scale(ns, v)

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(scale(x) * scale(x))
        return [y] + t.gradient(y, [x, v])
    x = ns.constant(X)
    return [step(x), step(x + 1.0)]


def variables_outside(ns):
    v = ns.Variable(V0)
    scale = _scale(ns, v)
    f = ns.function(lambda x: ns.reduce_sum(scale(x)))
    out = []
    for _ in range(2):
        x = ns.constant(X)
        with ns.GradientTape() as t:
            t.watch(x)
            y = f(x)
        out.append([y] + t.gradient(y, [x, v]))
    return out


def persistent(ns):
    log1pexp = _log1pexp(ns)

    @ns.function
    def step(x):
        with ns.GradientTape(persistent=True) as t:
            t.watch(x)
            a = log1pexp(x)
            y = ns.reduce_sum(a)
            z = ns.reduce_sum(a * x)
        return t.gradient(y, x), t.gradient(z, x), t.gradient(z, x)
    x = ns.constant(X)
    return [step(x), step(x)]


def second_inside(ns):
    sq = _sq(ns)

    @ns.function
    def step(x):
        with ns.GradientTape() as t2:
            t2.watch(x)
            with ns.GradientTape() as t1:
                t1.watch(x)
                y = ns.reduce_sum(sq(x) * x)
            g = t1.gradient(y, x)
        return y, g, t2.gradient(g, x)
    x = ns.constant(X)
    return [step(x), step(x)]


def second_outside(ns):
    sq = _sq(ns)
    f = ns.function(lambda x: ns.reduce_sum(sq(x)))
    out = []
    for _ in range(2):
        x = ns.constant(X)
        with ns.GradientTape() as t2:
            t2.watch(x)
            with ns.GradientTape() as t1:
                t1.watch(x)
                y = f(x)
            g = t1.gradient(y, x)
        out.append([y, g, t2.gradient(g, x)])
    return out


def straight_through(ns):
    @ns.custom_gradient
    def ste(x):
        return ns.round(x), lambda dy: dy

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(ste(x * 1.7) ** 2)
        return y, t.gradient(y, x)
    x = ns.constant(X)
    return [step(x), step(x * 0.3)]


def clip_gradient(ns):
    clip_grad = _clip(ns)

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(clip_grad(x) ** 2)
        return t.gradient(y, x)
    x = ns.constant(X)
    return [step(x), step(x * 0.001)]


def two_outputs(ns):
    @ns.custom_gradient
    def two(a, b):
        def grad(da, db):
            return da * 2.0 + db, None
        return (a * b, a + b), grad

    @ns.function
    def step(a, b):
        with ns.GradientTape() as t:
            t.watch([a, b])
            p, s = two(a, b)
            y = ns.reduce_sum(p * 3.0 + s)
        return t.gradient(y, [a, b])

    @ns.function
    def step_unused(a, b):  # (the unused output's upstream is zeros)
        with ns.GradientTape() as t:
            t.watch([a, b])
            p, _ = two(a, b)
            y = ns.reduce_sum(p * p)
        return t.gradient(y, [a, b])
    x = ns.constant(X)
    return [step(x, x + 1.0), step_unused(x, x + 1.0)]


def training_step(ns):
    """The common case: a Keras-style training step with a clip-gradient layer and log1pexp."""
    clip_grad = _clip(ns)
    log1pexp = _log1pexp(ns)
    w = ns.Variable([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]])
    b = ns.Variable([0.1, -0.2])
    opt = ns.keras.optimizers.SGD(learning_rate=0.05) if ns.__name__ == "tensorflow" else \
        ns.optimizers.SGD(learning_rate=0.05)
    x = ns.constant([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    y = ns.constant([[1.0, 0.0], [0.0, 1.0]])

    @ns.function
    def step(x, y):
        with ns.GradientTape() as tape:
            h = clip_grad(ns.matmul(x, w) + b)
            loss = ns.reduce_mean(log1pexp(h) - h * y)
        grads = tape.gradient(loss, [w, b])
        opt.apply_gradients(zip(grads, [w, b]))
        return loss, grads
    out = []
    for _ in range(4):
        loss, grads = step(x, y)
        out.append([loss, grads, w.read_value(), b.read_value()])
    return out


def in_cond(ns):
    sq = _sq(ns)
    log1pexp = _log1pexp(ns)

    @ns.function
    def step(x, p):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.cond(p, lambda: ns.reduce_sum(sq(x)), lambda: ns.reduce_sum(log1pexp(x)))
        return y, t.gradient(y, x)
    x = ns.constant(X)
    return [step(x, ns.constant(True)), step(x, ns.constant(False)), step(x, ns.constant(True))]


def in_while(ns):
    sq = _sq(ns)

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            _, y = ns.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, sq(y) * 0.5), (ns.constant(0), x))
            s = ns.reduce_sum(y)
        return s, t.gradient(s, x)
    x = ns.constant([0.5, 1.5, -2.0])
    return [step(x), step(x)]


def jacobian_inside(ns):
    sq = _sq(ns)

    @ns.function
    def step(x):
        with ns.GradientTape(persistent=True) as t:
            t.watch(x)
            y = sq(x) + x
        return t.jacobian(y, x), t.jacobian(y, x, experimental_use_pfor=False)
    x = ns.constant([0.5, 1.5, -2.0])
    return [step(x)]


def variable_argument(ns):
    v = ns.Variable([0.5, 1.5, -2.0])
    sq = _sq(ns)

    @ns.function
    def step():
        with ns.GradientTape() as t:
            y = ns.reduce_sum(sq(v))
        return y, t.gradient(y, v)
    return [step(), step()]


def nested_custom(ns):
    sq = _sq(ns)

    @ns.custom_gradient
    def outer(x):
        def grad(dy):
            return sq(dy) * x  # a custom gradient inside the gradient function
        return ns.sin(x), grad

    @ns.function
    def step(x):
        with ns.GradientTape() as t2:
            t2.watch(x)
            with ns.GradientTape() as t1:
                t1.watch(x)
                y = ns.reduce_sum(outer(x) * x)
            g = t1.gradient(y, x)
            s = ns.reduce_sum(g)
        return y, g, t2.gradient(s, x)
    x = ns.constant([0.5, 1.5, -2.0])
    return [step(x), step(x * 2.0)]


def inner_tape_in_grad_fn(ns):
    """grad_fn computes the gradient of a recomputation with a tape of its own (recompute_grad)."""
    @ns.custom_gradient
    def recompute(x):
        def grad(dy):
            with ns.GradientTape() as t:
                t.watch(x)
                z = ns.tanh(x) * x
            return t.gradient(z, x, output_gradients=dy)
        return ns.tanh(x) * x, grad

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(recompute(x) ** 2)
        return y, t.gradient(y, x)
    x = ns.constant([0.5, 1.5, -2.0])
    return [step(x), step(x * 3.0)]


def saved_model(ns):
    sq = _sq(ns)

    class M(ns.Module):
        def __init__(self):
            super().__init__()
            self.v = ns.Variable([1.0, 2.0, 3.0])

        @ns.function(input_signature=[ns.TensorSpec([3], ns.float32)])
        def f(self, x):
            return ns.reduce_sum(sq(x * self.v))

        @ns.function(input_signature=[ns.TensorSpec([3], ns.float32)])
        def train(self, x):
            with ns.GradientTape() as t:
                y = ns.reduce_sum(sq(x * self.v))
            g = t.gradient(y, self.v)
            self.v.assign_sub(0.01 * g)
            return g
    m = M()
    x = ns.constant([0.5, 1.5, -2.0])
    d = tempfile.mkdtemp()
    ns.saved_model.save(m, d)
    loaded = ns.saved_model.load(d)
    out = []
    for _ in range(2):
        with ns.GradientTape() as t:
            t.watch(x)
            y = loaded.f(x)
        out.append([y] + t.gradient(y, [x, loaded.v]))
        out.append([loaded.train(x), loaded.v.read_value()])
    return out


CASES = [log1pexp_inside, log1pexp_outside, variables_inside, variables_outside, persistent, second_inside,
         second_outside, straight_through, clip_gradient, two_outputs, training_step, in_cond, in_while,
         jacobian_inside, variable_argument, nested_custom, inner_tape_in_grad_fn, saved_model]


# ---- errors: (the exception type's name) ----
def kwargs_call(ns):
    @ns.custom_gradient
    def kw(a, scale=2.0):
        return a * scale, lambda dy: dy * scale
    return ns.function(lambda a: kw(a, scale=3.0))(ns.constant(X))


def variables_without_kwarg(ns):
    v = ns.Variable(V0)

    @ns.custom_gradient
    def scale_bad(x):
        return x * v, lambda dy: dy * 10.0

    @ns.function
    def step(x):
        with ns.GradientTape() as t:
            t.watch(x)
            y = ns.reduce_sum(scale_bad(x))
        return t.gradient(y, x)
    return step(ns.constant(X))


ERRORS = [kwargs_call, variables_without_kwarg]


def to_lists(x):
    """A nest of tensors as lists of Python numbers (None kept)."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [to_lists(v) for v in x]
    return x.numpy().tolist()


# TensorFlow 2.21's answers (make_function_custom_gradient.py):
TF = {'clip_gradient': [[0.004997688811272383, 0.9995378255844116, -0.02998613379895687],
                   [0.0010000000474974513, 0.20000000298023224, -0.006000000052154064]],
 'in_cond': [[10009.25, [1.5, 300.0, -9.0]],
             [inf, [0.6224592924118042, 1.0, 0.04742586612701416]],
             [10009.25, [1.5, 300.0, -9.0]]],
 'in_while': [[2.20025634765625, [0.00164794921875, 3.60406494140625, -27.0]],
              [2.20025634765625, [0.00164794921875, 3.60406494140625, -27.0]]],
 'inner_tape_in_grad_fn': [[5.614195346832275, [0.3952677249908447, 3.1939284801483154, -4.262271404266357]],
                           [58.08253479003906, [3.1939284801483154, 9.015542984008789, -12.001474380493164]]],
 'jacobian_inside': [[[[2.5, 0.0, 0.0], [0.0, 5.5, 0.0], [0.0, 0.0, -5.0]],
                      [[2.5, 0.0, 0.0], [0.0, 5.5, 0.0], [0.0, 0.0, -5.0]]]],
 'log1pexp_inside': [[inf, [0.6224592924118042, 1.0, 0.04742586612701416]],
                     [inf, [0.6224592924118042, 1.0, 0.04742586612701416]],
                     [51.02735137939453, [0.5621764659881592, 1.0, 0.18242555856704712]]],
 'log1pexp_outside': [[inf, [1.285306692123413, inf, -0.09369024634361267]],
                      [inf, [2.0443201065063477, inf, -0.012359791435301304]],
                      [inf, [2.9277749061584473, inf, -0.0009870323119685054]]],
 'nested_custom': [[3.5545501708984375,
                    [0.6044255495071411, 4.372495174407959, -8.909296989440918],
                    [1.5, 10.5, 14.0]],
                   [-1.7623790502548218,
                    [1.8414709568023682, 27.14112091064453, -63.24319839477539],
                    [5.0, 39.0, 60.0]]],
 'persistent': [[[0.6224592924118042, 1.0, 0.04742586612701416],
                 [1.285306692123413, inf, -0.09369024634361267],
                 [1.285306692123413, inf, -0.09369024634361267]],
                [[0.6224592924118042, 1.0, 0.04742586612701416],
                 [1.285306692123413, inf, -0.09369024634361267],
                 [1.285306692123413, inf, -0.09369024634361267]]],
 'saved_model': [[45.25, [1.5, 18.0, -54.0], [0.75, 13.5, 36.0]],
                 [[0.75, 13.5, 36.0], [0.9925000071525574, 1.8650000095367432, 2.640000104904175]],
                 [35.95067596435547,
                  [1.4775843620300293, 15.652012825012207, -41.81760025024414],
                  [0.7443749904632568, 12.588749885559082, 31.68000030517578]],
                 [[0.7443749904632568, 12.588749885559082, 31.68000030517578],
                  [0.9850562810897827, 1.7391124963760376, 2.323200225830078]]],
 'second_inside': [[999973.125, [1.0, 40000.0, 36.0], [4.5, 900.0, -27.0]],
                   [999973.125, [1.0, 40000.0, 36.0], [4.5, 900.0, -27.0]]],
 'second_outside': [[10009.25, [1.5, 300.0, -9.0], [3.0, 3.0, 3.0]],
                    [10009.25, [1.5, 300.0, -9.0], [3.0, 3.0, 3.0]]],
 'straight_through': [[28926.0, [3.4000000953674316, 578.0, -17.0]],
                      [2605.0, [0.0, 173.40000915527344, -6.800000190734863]]],
 'training_step': [[1.0684798955917358,
                    [[[-0.09402906894683838, 0.24936966598033905],
                      [-0.007401563227176666, 0.4866393804550171],
                      [0.07922594249248505, 0.7239090800285339]],
                     [0.050496190786361694, 0.2396896928548813]],
                    [[0.5047014355659485, -1.0124684572219849],
                     [2.0003700256347656, 0.2256680279970169],
                     [-0.7539613246917725, 1.4638046026229858]],
                    [0.09747519344091415, -0.21198448538780212]],
                   [1.023686170578003,
                    [[[-0.09344157576560974, 0.24872371554374695],
                      [-0.008142456412315369, 0.48430851101875305],
                      [0.077156662940979, 0.7198933362960815]],
                     [0.04955098032951355, 0.23821258544921875]],
                    [[0.5093734860420227, -1.0249046087265015],
                     [2.000777244567871, 0.2014525979757309],
                     [-0.7578191757202148, 1.4278099536895752]],
                    [0.09499764442443848, -0.2238951176404953]],
                   [0.9793902039527893,
                    [[[-0.09286752343177795, 0.2479175180196762],
                      [-0.008859604597091675, 0.4815770089626312],
                      [0.0751483142375946, 0.715236485004425]],
                     [0.04863283038139343, 0.23651109635829926]],
                    [[0.51401686668396, -1.03730046749115],
                     [2.001220226287842, 0.1773737519979477],
                     [-0.7615765929222107, 1.3920481204986572]],
                    [0.09256600588560104, -0.2357206791639328]],
                   [0.9356648921966553,
                    [[[-0.09230627119541168, 0.24692323803901672],
                      [-0.00955362617969513, 0.47838518023490906],
                      [0.07319901883602142, 0.709847092628479]],
                     [0.047740861773490906, 0.2345542013645172]],
                    [[0.518632173538208, -1.0496466159820557],
                     [2.0016980171203613, 0.1534544974565506],
                     [-0.7652365565299988, 1.3565558195114136]],
                    [0.0901789665222168, -0.2474483847618103]]],
 'two_outputs': [[[7.0, 7.0, 7.0], None], [[3.0, 40400.0, 24.0], None]],
 'variable_argument': [[6.5, [1.5, 4.5, -6.0]], [6.5, [1.5, 4.5, -6.0]]],
 'variables_inside': [[90145.0, [20.0, 6000.0, -240.0], [100.0, 6000000.0, 7200.0]],
                      [91882.0, [60.0, 6060.0, -160.0], [900.0, 6120600.0, 3200.0]]],
 'variables_outside': [[289.0, [10.0, 10.0, 10.0], [50.0, 10000.0, -300.0]],
                       [289.0, [10.0, 10.0, 10.0], [50.0, 10000.0, -300.0]]]}
TF_ERRORS = {'kwargs_call': 'ValueError', 'variables_without_kwarg': 'TypeError'}
