import gradtape as tf
# Modelled on TensorFlow's guide "Introduction to gradients and automatic differentiation":
# gradients of variables and tensors, what the tape watches, persistent tapes, non-scalar
# targets, control flow, and the cases where a gradient is None.
import numpy as np

# Computing gradients
x = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = x ** 2
dy_dx = tape.gradient(y, x)
print("dy/dx:", dy_dx.numpy())

init = np.random.default_rng(1).standard_normal((3, 2)).astype(np.float32)
w = tf.Variable(init, name="w")
b = tf.Variable(tf.zeros(2, dtype=tf.float32), name="b")
x = [[1.0, 2.0, 3.0]]
with tf.GradientTape(persistent=True) as tape:
    y = x @ w + b
    loss = tf.reduce_mean(y ** 2)
[dl_dw, dl_db] = tape.gradient(loss, [w, b])
print(w.shape)
print(dl_dw.shape)
print("dl_dw:", dl_dw)
print("dl_db:", dl_db)
my_vars = {"w": w, "b": b}
grad = tape.gradient(loss, my_vars)
print("grad['b']:", grad["b"])
print("same as the list:", bool(tf.reduce_all(grad["w"] == dl_dw)))
del tape


# Gradients with respect to a model (a tf.Module layer instead of a Keras one)
class Dense(tf.Module):
    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = units
        self.kernel = None

    def __call__(self, x):
        if self.kernel is None:
            rng = np.random.default_rng(2)
            self.kernel = tf.Variable(rng.uniform(-1, 1, (x.shape[-1], self.units)).astype(np.float32), name="kernel")
            self.bias = tf.Variable(tf.zeros([self.units]), name="bias")
        return tf.nn.relu(x @ self.kernel + self.bias)


layer = Dense(2, name="dense")
x = tf.constant([[1.0, 2.0, 3.0]])
with tf.GradientTape() as tape:
    y = layer(x)
    loss = tf.reduce_mean(y ** 2)
grad = tape.gradient(loss, layer.trainable_variables)
for var, g in zip(layer.trainable_variables, grad):
    print(f"{var.name}, shape: {g.shape}")
    print(g.numpy())

# Controlling what the tape watches
x0 = tf.Variable(3.0, name="x0")                   # trainable
x1 = tf.Variable(3.0, name="x1", trainable=False)  # not trainable
x2 = tf.Variable(2.0, name="x2") + 1.0             # a variable plus a tensor is a tensor
x3 = tf.constant(3.0, name="x3")                   # not a variable
with tf.GradientTape() as tape:
    y = (x0 ** 2) + (x1 ** 2) + (x2 ** 2)
grad = tape.gradient(y, [x0, x1, x2, x3])
for g in grad:
    print(g)
print([var.name for var in tape.watched_variables()])

x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x ** 2
dy_dx = tape.gradient(y, x)
print(dy_dx.numpy())

x0 = tf.Variable(0.0)
x1 = tf.Variable(10.0)
with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(x1)
    y0 = tf.math.sin(x0)
    y1 = tf.nn.softplus(x1)
    y = y0 + y1
    ys = tf.reduce_sum(y)
grad = tape.gradient(ys, {"x0": x0, "x1": x1})
print("dy/dx0:", grad["x0"])
print("dy/dx1:", grad["x1"].numpy())

# Intermediate results
x = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = x * x
    z = y * y
print(tape.gradient(z, y).numpy())

x = tf.constant([1, 3.0])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    y = x * x
    z = y * y
print(tape.gradient(z, x).numpy())  # [4.0, 108.0] (4 * x**3 at x = [1, 3])
print(tape.gradient(y, x).numpy())  # [2.0, 6.0] (2 * x at x = [1, 3])
del tape

# Gradients of non-scalar targets
x = tf.Variable(2.0)
with tf.GradientTape(persistent=True) as tape:
    y0 = x ** 2
    y1 = 1 / x
print(tape.gradient(y0, x).numpy())
print(tape.gradient(y1, x).numpy())

x = tf.Variable(2.0)
with tf.GradientTape() as tape:
    y0 = x ** 2
    y1 = 1 / x
print(tape.gradient({"y0": y0, "y1": y1}, x).numpy())

x = tf.Variable(2.0)
with tf.GradientTape() as tape:
    y = x * [3.0, 4.0]
print(tape.gradient(y, x).numpy())

x = tf.linspace(-10.0, 10.0, 200 + 1)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.nn.sigmoid(x)
dy_dx = tape.gradient(y, x)
print("sigmoid' at -10, -5, 0:", dy_dx.numpy()[:101:50])
# In the right tail TensorFlow computes s (1 - s), which loses digits as s nears 1 (at 10 its
# 4.54167e-05 is 5e-4 too large); gradtape computes s(x) s(-x) (docs/choices.md).
print("[rtol=1e-3] sigmoid' at 5, 10:", dy_dx.numpy()[150::50])
print("sum of sigmoid':", tf.reduce_sum(dy_dx).numpy(), "max at", int(np.argmax(dy_dx.numpy())))

# Control flow
x = tf.constant(1.0)
v0 = tf.Variable(2.0)
v1 = tf.Variable(2.0)
with tf.GradientTape(persistent=True) as tape:
    tape.watch(x)
    if x > 0.0:
        result = v0
    else:
        result = v1 ** 2
dv0, dv1 = tape.gradient(result, [v0, v1])
print(dv0)
print(dv1)
dx = tape.gradient(result, x)
print(dx)
del tape

# Getting a gradient of None
x = tf.Variable(2.0)
y = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = y * y
print(tape.gradient(z, x))

# 1. a variable replaced by a tensor
x = tf.Variable(2.0)
for epoch in range(2):
    with tf.GradientTape() as tape:
        y = x + 1
    print("is a variable:", isinstance(x, tf.Variable), ":", tape.gradient(y, x))
    x = x + 1  # this makes a tensor, not a variable

# 2. a computation outside TensorFlow
x = tf.Variable([[1.0, 2.0], [3.0, 4.0]], dtype=tf.float32)
with tf.GradientTape() as tape:
    x2 = x ** 2
    y = np.mean(x2, axis=0)  # NumPy: the tape does not see it
    y = tf.reduce_mean(y, axis=0)
print(tape.gradient(y, x))

# 3. an integer
x = tf.constant(10)
with tf.GradientTape() as g:
    g.watch(x)
    y = x * x
print(g.gradient(y, x))

# 4. a stateful object: assign_add is not differentiable
x0 = tf.Variable(3.0)
x1 = tf.Variable(0.0)
with tf.GradientTape() as tape:
    x1.assign_add(x0)
    y = x1 ** 2
print(tape.gradient(y, x0))

# Zeros instead of None
x = tf.Variable([2.0, 2.0])
y = tf.Variable(3.0)
with tf.GradientTape() as tape:
    z = y ** 2
print(tape.gradient(z, x, unconnected_gradients=tf.UnconnectedGradients.ZERO))
with tf.GradientTape() as tape:
    z = y ** 2
print(tape.gradient(z, [x, y], unconnected_gradients="zero"))
