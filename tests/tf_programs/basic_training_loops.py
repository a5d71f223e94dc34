import gradtape as tf
# Modelled on TensorFlow's guide "Basic training loops" (the Keras-free part): fit a line
# y = W x + b with a tf.Module, a loss function, a GradientTape and assign_sub.
import numpy as np

TRUE_W = 3.0
TRUE_B = 2.0
NUM_EXAMPLES = 201

# The guide draws its noise with tf.random.normal; NumPy draws it here so that TensorFlow
# and gradtape see the same data. The tf.random version runs at the end.
x = tf.linspace(-2, 2, NUM_EXAMPLES)
x = tf.cast(x, tf.float32)
print("x:", x.dtype.name, x.shape, "first", x[0].numpy(), "last", x[-1].numpy(), "middle", x[100].numpy())


def f(x):
    return x * TRUE_W + TRUE_B


noise = tf.constant(np.random.default_rng(42).standard_normal(NUM_EXAMPLES).astype(np.float32))
y = f(x) + noise
print("y: mean %.6f std %.6f" % (tf.reduce_mean(y).numpy(), tf.math.reduce_std(y).numpy()))


class MyModel(tf.Module):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # start from values we know are wrong
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.w * x + self.b


model = MyModel()
print("Variables:", model.variables)
assert model(3.0).numpy() == 15.0
print("model(3.0) =", model(3.0))


def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


print("Current loss: %1.6f" % loss(y, model(x)).numpy())


def train(model, x, y, learning_rate):
    with tf.GradientTape() as t:
        current_loss = loss(y, model(x))
    dw, db = t.gradient(current_loss, [model.w, model.b])
    model.w.assign_sub(learning_rate * dw)
    model.b.assign_sub(learning_rate * db)


weights = []
biases = []
epochs = range(10)


def report(model, loss):
    return f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}, loss={loss:2.5f}"


def training_loop(model, x, y):
    for epoch in epochs:
        train(model, x, y, learning_rate=0.1)
        weights.append(model.w.numpy())
        biases.append(model.b.numpy())
        current_loss = loss(y, model(x))
        print(f"Epoch {epoch:2d}:")
        print("    ", report(model, current_loss))


current_loss = loss(y, model(x))
print("Starting:")
print("    ", report(model, current_loss))
training_loop(model, x, y)
print("W trajectory:", ["%.6f" % w for w in weights])
print("b trajectory:", ["%.6f" % b for b in biases])
print("Current loss: %1.6f" % loss(model(x), y).numpy())
print("final w, b:", model.w.numpy(), model.b.numpy())

# The guide's version: noise from tf.random.normal. Seeded, so it repeats from run to run;
# gradtape's random numbers are not TensorFlow's, so only the text is compared.
tf.random.set_seed(7)
noise = tf.random.normal(shape=[NUM_EXAMPLES])
y = f(x) + noise
model = MyModel()
weights.clear()
biases.clear()
for epoch in epochs:
    train(model, x, y, learning_rate=0.1)
print("[seeded] after %d epochs: W = %1.4f, b = %1.4f, loss = %1.5f" % (
    len(epochs), model.w.numpy(), model.b.numpy(), loss(y, model(x)).numpy()))
