import gradtape as tf
# tf.function as TensorFlow's guides use it (written here for gradtape's tests): tracing once per
# input signature, retracing on new dtypes, shapes and Python values, variables read and written
# at every call, Python side effects once per trace, a whole training step as one function,
# tf.cond / tf.while_loop on tensors, input_signature, get_concrete_function. Every printed
# number must be TensorFlow's.
import numpy as np


@tf.function
def add(a, b):
    return a + b


print("add:", add(tf.constant(1.0), tf.constant(2.0)).numpy(), add(tf.ones([2, 2]), tf.ones([2, 2])).numpy().tolist())

traces = []


@tf.function
def scaled(x, k):
    traces.append(k)
    return x * k


for args in [(tf.constant(1.0), 2), (tf.constant(5.0), 2), (tf.constant([1.0, 2.0]), 2),
             (tf.constant(1.0, tf.float64), 2), (tf.constant(3.0), 3), (tf.constant(4.0), 3)]:
    print("scaled:", scaled(*args).numpy().tolist(), "traces so far:", scaled.experimental_get_tracing_count())
print("python side effects:", traces)

# Variables are read and written at every call.
counter = tf.Variable(0)


@tf.function
def tick(step):
    counter.assign_add(step)
    return counter.read_value() * 10


print("tick:", [int(tick(tf.constant(s))) for s in (1, 2, 3)], "counter:", int(counter))

v = tf.Variable(2.0)


@tf.function
def times_v(x):
    return x * v


print("times_v before:", float(times_v(tf.constant(3.0))))
v.assign(5.0)
print("times_v after assign outside:", float(times_v(tf.constant(3.0))), "traces:", times_v.experimental_get_tracing_count())

# A whole training step: forward, gradient, update.
rng = np.random.default_rng(0)
X = tf.constant(rng.normal(size=(64, 3)).astype(np.float32))
true_w = tf.constant([[2.0], [-1.0], [0.5]])
Y = tf.matmul(X, true_w) + 0.3


class Linear(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.zeros([3, 1]))
        self.b = tf.Variable(tf.zeros([1]))

    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


def make_step(model, opt):
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss
    return train_step


eager_model, traced_model = Linear(), Linear()
eager_step = make_step(eager_model, tf.optimizers.SGD(learning_rate=0.1))
traced_step = tf.function(make_step(traced_model, tf.optimizers.SGD(learning_rate=0.1)))
for epoch in range(5):
    le, lt = eager_step(X, Y), traced_step(X, Y)
    print("epoch %d: loss %.6f traced %.6f" % (epoch, float(le), float(lt)))
print("w traced:", np.round(traced_model.w.numpy().ravel(), 5).tolist(), "b:", np.round(traced_model.b.numpy(), 5).tolist())
print("same as eager:", bool(np.allclose(eager_model.w.numpy(), traced_model.w.numpy(), rtol=1e-6)))

adam_model = Linear()
adam_step = tf.function(make_step(adam_model, tf.optimizers.Adam(learning_rate=0.05)))
print("adam:", ["%.5f" % float(adam_step(X, Y)) for _ in range(4)])


# Control flow on tensors, written with tf.cond and tf.while_loop.
@tf.function
def clipped_sum(x, limit):
    total = tf.reduce_sum(x)
    return tf.cond(total > limit, lambda: limit, lambda: total)


print("clipped_sum:", float(clipped_sum(tf.constant([1.0, 2.0]), tf.constant(10.0))),
      float(clipped_sum(tf.constant([10.0, 20.0]), tf.constant(10.0))))


@tf.function
def fib(n):
    i, a, b = tf.while_loop(lambda i, a, b: i < n, lambda i, a, b: (i + 1, b, a + b),
                            (tf.constant(0), tf.constant(0), tf.constant(1)))
    return a


print("fib:", [int(fib(tf.constant(k))) for k in (0, 1, 2, 10, 20)], "traces:", fib.experimental_get_tracing_count())

x = tf.constant(1.5)
with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.while_loop(lambda v: v < 20.0, lambda v: [v * x], [x])[0]
print("while gradient: y %.4f dy/dx %.4f" % (float(y), float(tape.gradient(y, x))))


# input_signature and concrete functions.
@tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.float32)])
def normalise(x):
    return (x - tf.reduce_mean(x)) / (tf.math.reduce_std(x) + 1e-6)


print("normalise:", np.round(normalise(tf.constant([1.0, 2.0, 3.0])).numpy(), 5).tolist(),
      np.round(normalise(tf.constant([4.0, 0.0, 4.0, 0.0])).numpy(), 5).tolist())
try:
    normalise(tf.constant([[1.0]]))
except (TypeError, ValueError) as e:
    print("normalise with a matrix:", type(e).__name__ in ("TypeError", "ValueError"))

square = tf.function(lambda t: t * t)
concrete = square.get_concrete_function(tf.TensorSpec([2], tf.float32))
print("concrete:", concrete(tf.constant([3.0, 4.0])).numpy().tolist())


# Gradients through a tf.function, from outside.
@tf.function
def softplus_sum(t):
    return tf.reduce_sum(tf.nn.softplus(t))


t = tf.constant([-1000.0, 0.0, 1000.0])
with tf.GradientTape() as tape:
    tape.watch(t)
    s = softplus_sum(t)
print("softplus_sum: %.4f" % float(s), "grad:", tape.gradient(s, t).numpy().tolist())
