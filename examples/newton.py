"""Newton-CG with exact Hessian-vector products: minimise a function without ever forming its
Hessian. Each Newton step minimises the quadratic model g.p + p.Hp/2 within a trust region
by conjugate gradients (Steihaug-Toint CG), and CG only needs products H v, which gradtape
computes exactly (to rounding) by differentiating twice: `hvp(f, x, v)`. The trust region
makes the method globally convergent and copes with directions of negative curvature
(trust-region Newton-CG: Nocedal and Wright, Numerical Optimization, Algorithms 4.1 and 7.2).

Two problems, in float64:
  * the extended Rosenbrock function from its classic start (-1.2, 1, -1.2, 1, ...), whose
    minimum is known: f = 0 at x = (1, 1, ..., 1);
  * L2-regularised logistic regression on synthetic data: the answer is checked by the
    gradient at the solution, computed independently by its closed form in NumPy, and by
    the weights, compared with plain Newton in NumPy (closed-form Hessian, dense solve).

    python examples/newton.py            # Rosenbrock in 1,000 dimensions, 10,000 x 50 logistic regression
    python examples/newton.py --quick    # 10 dimensions, 400 x 5 (CI)
"""
import argparse
import functools
import math

import numpy as np

import gradtape as gt


def value_and_grad(f, x):
    """f(x) and its gradient at x (x a float64 tensor)."""
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = f(x)
    return y, tape.gradient(y, x)


def hvp(f, x, v):
    """The Hessian of f at x times v, exactly, by forward over reverse: the gradient of f at x,
    computed inside a ForwardAccumulator that gives x the tangent v, carries the tangent H v
    (gt.autodiff.hvp does the same in one call). Costs a small constant times one evaluation of
    f, whatever the dimension. Reverse over reverse (the gradient of <grad f(x), v>, with two
    nested tapes) gives the same numbers at a higher cost; `hvp_reverse` below keeps it for
    comparison.
    """
    with gt.autodiff.ForwardAccumulator(x, v) as acc:
        with gt.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        g = tape.gradient(y, x, unconnected_gradients=gt.UnconnectedGradients.ZERO)
    # A function linear in x has a zero Hessian: its gradient has no tangent.
    return acc.jvp(g, unconnected_gradients=gt.UnconnectedGradients.ZERO)


def hvp_reverse(f, x, v):
    """H v by reverse over reverse: the gradient of <grad f(x), v> through two nested tapes."""
    with gt.GradientTape() as outer:
        outer.watch(x)
        with gt.GradientTape() as inner:
            inner.watch(x)
            y = f(x)
        g = inner.gradient(y, x)
        g_dot_v = gt.reduce_sum(g * v)  # v is a constant: not watched
    return outer.gradient(g_dot_v, x, unconnected_gradients=gt.UnconnectedGradients.ZERO)


def dot(a, b):
    return float(gt.reduce_sum(a * b))


def steihaug_cg(hessp, g, radius, tol, max_iter):
    """Approximately minimise the model m(p) = g.p + p.Hp/2 over |p| <= radius by conjugate
    gradients (Steihaug and Toint): stop when the residual |Hp + g| is at most `tol`, at the
    boundary, or along a direction of non-positive curvature, which is followed to the boundary. Returns
    (p, Hp, CG iterations, whether p is on the boundary); Hp comes from the CG recurrence, no
    extra product."""
    def to_boundary(z, d):  # the tau >= 0 with |z + tau d| = radius
        dd, zd, zz = dot(d, d), dot(z, d), dot(z, z)
        return (-zd + math.sqrt(zd * zd + dd * (radius * radius - zz))) / dd

    z, hz = gt.zeros_like(g), gt.zeros_like(g)
    r, d = g, -g
    rr = dot(r, r)
    for j in range(1, max_iter + 1):
        hd = hessp(d)
        curvature = dot(d, hd)
        if curvature <= 0:
            tau = to_boundary(z, d)
            return z + tau * d, hz + tau * hd, j, True
        alpha = rr / curvature
        z_next = z + alpha * d
        if math.sqrt(dot(z_next, z_next)) >= radius:
            tau = to_boundary(z, d)
            return z + tau * d, hz + tau * hd, j, True
        z, hz = z_next, hz + alpha * hd
        r = r + alpha * hd
        rr_next = dot(r, r)
        if math.sqrt(rr_next) <= tol:
            break
        d = -r + (rr_next / rr) * d
        rr = rr_next
    return z, hz, j, False


def newton_cg(f, x0, gtol=1e-10, max_iter=200, radius=1.0, max_radius=1e3, verbose=True):
    """Minimise f from x0 by trust-region Newton-CG (Nocedal and Wright, Algorithms 4.1 and
    7.2) with exact Hessian-vector products. Stops when |grad f| <= gtol. Returns (x, info),
    info a dict: iterations (steps tried, rejected ones included), hvps (Hessian-vector
    products), grad_norm, converged."""
    x = gt.constant(x0, dtype=gt.float64)
    fx, g = value_and_grad(f, x)
    n_hvp = 0
    if verbose:
        print("  %4s  %22s  %10s  %4s  %9s" % ("iter", "f(x)", "|grad|", "CG", "radius"))
    for k in range(max_iter):
        gnorm = math.sqrt(dot(g, g))
        if gnorm <= gtol:
            break
        # Solve loosely far from the solution, ever more exactly near it (superlinear rate).
        tol = min(0.5, math.sqrt(gnorm)) * gnorm
        hessp = functools.partial(hvp, f, x)  # v -> H(x) v
        p, hp, cg_iters, on_boundary = steihaug_cg(hessp, g, radius, tol, max_iter=2 * x.shape[0])
        n_hvp += cg_iters
        predicted = -(dot(g, p) + 0.5 * dot(p, hp))  # the model's decrease, > 0
        x_new = x + p
        f_new = f(x_new)
        actual = float(fx) - float(f_new)
        rho = actual / predicted if predicted > 0 else -1.0
        if verbose:
            print("  %4d  %22.15e  %10.3e  %4d  %9.3e" % (k, float(fx), gnorm, cg_iters, radius))
        if rho < 0.25:
            radius *= 0.25
        elif rho > 0.75 and on_boundary:
            radius = min(2 * radius, max_radius)
        if rho > 1e-4:  # accept the step
            x = x_new
            fx, g = value_and_grad(f, x)
    else:
        k, gnorm = max_iter, math.sqrt(dot(g, g))
    if verbose:
        print("  %4d  %22.15e  %10.3e" % (k, float(fx), gnorm))
    return x, {"iterations": k, "hvps": n_hvp, "grad_norm": gnorm, "converged": gnorm <= gtol}


def rosenbrock(x):
    """The extended Rosenbrock function (More, Garbow and Hillstrom's problem 21): over the pairs
    (a, b) = (x[0], x[1]), (x[2], x[3]), ..., the sum of 100 (b - a^2)^2 + (1 - a)^2."""
    a, b = x[0::2], x[1::2]
    return gt.reduce_sum(100.0 * gt.square(b - gt.square(a)) + gt.square(1.0 - a))


def make_logistic_problem(n, d, lam, seed=0):
    """Synthetic data from a known linear model with label noise; returns the objective (mean
    cross-entropy + lam/2 |w|^2) and the data as NumPy arrays. A column of ones is the
    intercept."""
    rng = np.random.default_rng(seed)
    x = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])
    w_true = rng.standard_normal(d)
    y = (rng.random(n) < 1 / (1 + np.exp(-x @ w_true))).astype(np.float64)
    xt, yt = gt.constant(x), gt.constant(y)

    def objective(w):
        logits = gt.linalg.matvec(xt, w)
        data_term = gt.reduce_mean(gt.nn.sigmoid_cross_entropy_with_logits(labels=yt, logits=logits))
        return data_term + 0.5 * lam * gt.reduce_sum(gt.square(w))

    return objective, x, y


def logistic_grad_numpy(w, x, y, lam):
    """The objective's gradient by its closed form, X^T (sigmoid(X w) - y) / n + lam w."""
    p = 1 / (1 + np.exp(-x @ w))
    return x.T @ (p - y) / len(y) + lam * w


def logistic_reference_numpy(x, y, lam, iterations=30):
    """The same minimum found independently of gradtape: plain Newton with the closed-form
    gradient and Hessian, X^T diag(p (1 - p)) X / n + lam I, and a dense solve."""
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ w))
        hessian = x.T @ (x * (p * (1 - p))[:, None]) / len(y) + lam * np.eye(len(w))
        w = w - np.linalg.solve(hessian, logistic_grad_numpy(w, x, y, lam))
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small problems (CI)")
    args = ap.parse_args(argv)
    dim, (n, d) = (10, (400, 5)) if args.quick else (1000, (10000, 50))

    print("Extended Rosenbrock, %d dimensions, from (-1.2, 1, -1.2, 1, ...)" % dim)
    x0 = np.tile([-1.2, 1.0], dim // 2)
    x, info = newton_cg(rosenbrock, x0)
    converged = [info["converged"]]
    err = float(np.max(np.abs(x.numpy() - 1.0)))
    print("rosenbrock: %d iterations, %d Hessian-vector products, f = %.3e, max |x - 1| = %.3e"
          % (info["iterations"], info["hvps"], float(rosenbrock(x)), err))

    lam = 1e-2
    print("\nL2-regularised logistic regression, %d samples, %d weights, lambda = %g" % (n, d, lam))
    objective, xs, ys = make_logistic_problem(n, d, lam)
    w, info = newton_cg(objective, np.zeros(d))
    converged.append(info["converged"])
    check = float(np.linalg.norm(logistic_grad_numpy(w.numpy(), xs, ys, lam)))
    reference = logistic_reference_numpy(xs, ys, lam)
    print("logistic: %d iterations, %d Hessian-vector products, |NumPy gradient at the solution| = %.3e, "
          "max |w - w_numpy| = %.3e" % (info["iterations"], info["hvps"], check,
                                        float(np.max(np.abs(w.numpy() - reference)))))
    if not all(converged):
        raise SystemExit("Newton-CG did not converge")


if __name__ == "__main__":
    main()
