import gradtape as tf
# Modelled on TensorFlow's guide "Advanced automatic differentiation": stop_recording, reset,
# stop_gradient, custom gradients, several tapes, higher-order gradients, Jacobians.
import numpy as np

# Pausing the tape
x = tf.Variable(2.0)
y = tf.Variable(3.0)
with tf.GradientTape() as t:
    x_sq = x * x
    with t.stop_recording():
        y_sq = y * y
    z = x_sq + y_sq
grad = t.gradient(z, {"x": x, "y": y})
print("dz/dx:", grad["x"])  # 2*x => 4
print("dz/dy:", grad["y"])

# Resetting the tape
reset = True
with tf.GradientTape() as t:
    y_sq = y * y
    if reset:
        t.reset()  # forget y_sq
    z = x * x + y_sq
grad = t.gradient(z, {"x": x, "y": y})
print("dz/dx:", grad["x"])
print("dz/dy:", grad["y"])

# Stopping the gradient in one place
with tf.GradientTape() as t:
    y_sq = y ** 2
    z = x ** 2 + tf.stop_gradient(y_sq)
grad = t.gradient(z, {"x": x, "y": y})
print("dz/dx:", grad["x"])
print("dz/dy:", grad["y"])


# A custom gradient: clip the gradient's norm on the way back
def clip_by_norm(t, clip_norm):
    l2 = tf.sqrt(tf.reduce_sum(t * t))
    return tf.where(l2 > clip_norm, t * clip_norm / l2, t)


@tf.custom_gradient
def clip_gradients(y):
    def backward(dy):
        return clip_by_norm(dy, 0.5)
    return y, backward


v = tf.Variable(2.0)
with tf.GradientTape() as t:
    output = clip_gradients(v * v)
print(t.gradient(output, v))  # upstream 1 clipped to 0.5, times 2v => 2.0


@tf.custom_gradient
def log1pexp(x):
    e = tf.exp(x)

    def grad(upstream):
        return upstream * (1 - 1 / (1 + e))
    return tf.math.log(1 + e), grad


x = tf.constant(100.0)
with tf.GradientTape() as t:
    t.watch(x)
    y = log1pexp(x)
print("log1pexp'(100):", t.gradient(y, x).numpy())

# Several tapes
x0 = tf.constant(0.0)
x1 = tf.constant(0.0)
with tf.GradientTape() as tape0, tf.GradientTape() as tape1:
    tape0.watch(x0)
    tape1.watch(x1)
    y0 = tf.math.sin(x0)
    y1 = tf.nn.sigmoid(x1)
    y = y0 + y1
    ys = tf.reduce_sum(y)
print(tape0.gradient(ys, x0).numpy())  # cos(x) => 1.0
print(tape1.gradient(ys, x1).numpy())  # sigmoid(x1)*(1-sigmoid(x1)) => 0.25

# Higher-order gradients
x = tf.Variable(1.0)
with tf.GradientTape() as t2:
    with tf.GradientTape() as t1:
        y = x * x * x
    dy_dx = t1.gradient(y, x)
d2y_dx2 = t2.gradient(dy_dx, x)
print("dy_dx:", dy_dx.numpy())  # 3 * x**2 => 3.0
print("d2y_dx2:", d2y_dx2.numpy())  # 6 * x => 6.0

# Input gradient regularisation: the norm of the gradient with respect to the input is part
# of the loss
rng = np.random.default_rng(3)
x = tf.constant(rng.standard_normal((7, 5)).astype(np.float32))
w = tf.Variable(rng.standard_normal((5, 10)).astype(np.float32) * 0.3, name="w")
b = tf.Variable(tf.zeros([10]), name="b")
with tf.GradientTape() as t2:
    with tf.GradientTape() as t1:
        t1.watch(x)
        y = tf.nn.relu(x @ w + b)
    g1 = t1.gradient(y, x)
    g1_mag = tf.norm(g1)
dg1_mag = t2.gradient(g1_mag, [w, b])
print("|dy/dx|:", g1_mag.numpy())
print([None if g is None else g.shape for g in dg1_mag])
print("d|dy/dx|/dw row sums:", tf.reduce_sum(dg1_mag[0], axis=1).numpy())

# Jacobians
x = tf.linspace(-10.0, 10.0, 200 + 1)
delta = tf.Variable(0.0)
with tf.GradientTape() as tape:
    y = tf.nn.sigmoid(x + delta)
dy_dx = tape.jacobian(y, delta)
print(y.shape)
print(dy_dx.shape)
print("d sigmoid/d delta at 0:", dy_dx.numpy()[100], "sum:", tf.reduce_sum(dy_dx).numpy())

x = tf.constant(rng.standard_normal((7, 5)).astype(np.float32))
kernel = tf.Variable(rng.standard_normal((5, 10)).astype(np.float32) * 0.3, name="kernel")
with tf.GradientTape(persistent=True) as tape:
    y = tf.nn.relu(x @ kernel)
j = tape.jacobian(y, kernel)
print(j.shape)
print(kernel.shape)
print("jacobian total:", tf.reduce_sum(j).numpy())
g = tape.gradient(y, kernel)
print(g.shape)
j_sum = tf.reduce_sum(j, axis=[0, 1])
delta = tf.reduce_max(abs(g - j_sum)).numpy()
assert delta < 1e-3
print("gradient = summed jacobian:", delta < 1e-3)

# Hessian of a small quadratic: the Jacobian of a gradient
A = tf.constant([[2.0, 1.0], [1.0, 3.0]])
v = tf.Variable([1.0, -1.0])
with tf.GradientTape() as t2:
    with tf.GradientTape() as t1:
        q = 0.5 * tf.reduce_sum(v * tf.linalg.matvec(A, v))
    gq = t1.gradient(q, v)
hess = t2.jacobian(gq, v)
print("gradient:", gq.numpy(), "hessian:", hess.numpy().tolist())

# Batch Jacobian
x = tf.constant(rng.standard_normal((7, 5)).astype(np.float32))
w1 = tf.Variable(rng.standard_normal((5, 8)).astype(np.float32) * 0.5)
w2 = tf.Variable(rng.standard_normal((8, 6)).astype(np.float32) * 0.5)
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = tf.nn.elu(x @ w1) @ w2
print(f"y.shape: {y.shape}")
j = tape.jacobian(y, x)
print(f"j.shape: {j.shape}")
jb = tape.batch_jacobian(y, x)
print(f"jb.shape: {jb.shape}")
j_sum = tf.reduce_sum(j, axis=2)
print(j_sum.shape)
print("batch jacobian = diagonal of the full one:", float(tf.reduce_max(abs(j_sum - jb))) < 1e-5)
print("jb[0]:", jb[0].numpy())
