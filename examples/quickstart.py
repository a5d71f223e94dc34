"""gradtape in a minute: the seed notebook's first gradient, a Hessian, and a Jacobian."""
import gradtape as gt


def f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


w1, w2 = gt.Variable(5.0), gt.Variable(3.0)

with gt.GradientTape() as tape:
    z = f(w1, w2)
print("dz/dw1, dz/dw2 =", tape.gradient(z, [w1, w2]))  # 36 and 10

with gt.GradientTape(persistent=True) as outer:
    with gt.GradientTape() as inner:
        z = f(w1, w2)
    grads = inner.gradient(z, [w1, w2])
print("Hessian rows =", [outer.gradient(g, [w1, w2]) for g in grads])  # [[6, 2], [2, None]]

x = gt.constant([0.5, 1.0, 2.0])
with gt.GradientTape() as tape:
    tape.watch(x)
    y = gt.tanh(x) * x
print("Jacobian =", tape.jacobian(y, x))
