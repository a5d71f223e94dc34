import gradtape as tf
# Modelled on TensorFlow's tutorial "Linear regression with Core APIs": normalise the
# features with a tf.Module, fit a linear model by mini-batch gradient descent over tf.data
# batches, then the same with a hand-written Adam. The tutorial's Auto MPG data is replaced by
# a synthetic table from NumPy (no download), so TensorFlow and gradtape see the same data.
import numpy as np

tf.random.set_seed(22)

rng = np.random.default_rng(22)
n, d = 320, 6
features = rng.normal(loc=[5.0, 190.0, 100.0, 2900.0, 15.0, 76.0],
                      scale=[1.7, 100.0, 38.0, 850.0, 2.7, 3.7], size=(n, d))
true_w = np.array([-0.5, -0.01, -0.04, -0.005, 0.1, 0.75])
target = features @ true_w + 10.0 + rng.normal(scale=3.0, size=n)
dataset = np.column_stack([features, target]).astype(np.float32)
dataset = tf.convert_to_tensor(dataset, dtype=tf.float32)
print("dataset:", dataset.shape, dataset.dtype.name)

train_size = int(0.8 * n)
x_train, y_train = dataset[:train_size, :-1], dataset[:train_size, -1]
x_test, y_test = dataset[train_size:, :-1], dataset[train_size:, -1]
print(x_train.shape, y_train.shape, x_test.shape, y_test.shape)


class Normalize(tf.Module):
    def __init__(self, x):
        # the statistics of the training data
        self.mean = tf.math.reduce_mean(x, axis=0)
        self.std = tf.math.reduce_std(x, axis=0)

    def norm(self, x):
        return (x - self.mean) / self.std

    def unnorm(self, x):
        return (x * self.std) + self.mean


norm_x = Normalize(x_train)
x_train_norm, x_test_norm = norm_x.norm(x_train), norm_x.norm(x_test)
norm_y = Normalize(y_train)
y_train_norm, y_test_norm = norm_y.norm(y_train), norm_y.norm(y_test)
print("feature means:", norm_x.mean.numpy())
print("feature stds:", norm_x.std.numpy())
print("target mean %.5f std %.5f" % (norm_y.mean.numpy(), norm_y.std.numpy()))
print("normalised train mean (~0):", float(tf.reduce_max(tf.abs(tf.reduce_mean(x_train_norm, axis=0)))) < 1e-5)


class LinearRegression(tf.Module):
    def __init__(self, init=None):
        self.built = False
        self.init = init

    def __call__(self, x):
        # weights and bias are made on the first call, from x's width
        if not self.built:
            if self.init is None:
                rand_w = tf.random.uniform(shape=[x.shape[-1], 1])
            else:
                rand_w = self.init([x.shape[-1], 1])
            rand_b = tf.random.uniform(shape=[]) if self.init is None else tf.constant(0.0)
            self.w = tf.Variable(rand_w)
            self.b = tf.Variable(rand_b)
            self.built = True
        y = tf.add(tf.matmul(x, self.w), self.b)
        return tf.squeeze(y, axis=1)


def mse_loss(y_pred, y):
    return tf.reduce_mean(tf.square(y_pred - y))


def fixed_init(shape):
    return tf.constant(np.linspace(-0.5, 0.5, int(np.prod(shape)), dtype=np.float32).reshape(shape))


lin_reg = LinearRegression(init=fixed_init)
prediction = lin_reg(x_train_norm[:1])
prediction_unnorm = norm_y.unnorm(prediction)
print("untrained prediction:", prediction_unnorm.numpy())


def fit(model, train_dataset, epochs, update, prefix="", every=10):
    train_losses, test_losses = [], []
    for epoch in range(epochs):
        batch_losses = []
        for x_batch, y_batch in train_dataset:
            with tf.GradientTape() as tape:
                batch_loss = mse_loss(model(x_batch), y_batch)
            grads = tape.gradient(batch_loss, model.variables)
            update(grads, model.variables)
            batch_losses.append(batch_loss)
        train_loss = tf.reduce_mean(batch_losses)
        test_loss = mse_loss(model(x_test_norm), y_test_norm)
        train_losses.append(train_loss)
        test_losses.append(test_loss)
        if epoch % every == 0:
            print(f"{prefix}Mean squared error for step {epoch}: {train_loss.numpy():0.4f}, test {test_loss.numpy():0.4f}")
    print(f"{prefix}Final train loss: {train_losses[-1]:0.5f}")
    print(f"{prefix}Final test loss: {test_losses[-1]:0.5f}")
    return train_losses, test_losses


def sgd(learning_rate):
    def update(grads, variables):
        for g, v in zip(grads, variables):
            v.assign_sub(learning_rate * g)
    return update


batch_size = 64
# in order (no shuffle): the same batches under TensorFlow and gradtape
train_dataset = tf.data.Dataset.from_tensor_slices((x_train_norm, y_train_norm)).batch(batch_size)
print("batches per epoch:", len(train_dataset), "element spec:", train_dataset.element_spec)
fit(lin_reg, train_dataset, epochs=50, update=sgd(0.01))
# the bias ends near 0 (the targets are centred): its digits past 1e-5 are the rounding of
# float32 sums, which TensorFlow and gradtape add up in different orders
print("weights:", tf.squeeze(lin_reg.w).numpy(), "bias: %.5f" % lin_reg.b.numpy())
y_pred = norm_y.unnorm(lin_reg(x_test_norm))
print("first test predictions:", y_pred[:4].numpy())
print("test MAE: %.5f" % tf.reduce_mean(tf.abs(y_pred - y_test)).numpy())


class Adam:
    # hand-written, as in the Core API tutorials
    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, ep=1e-7):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.learning_rate = learning_rate
        self.ep = ep
        self.t = 1.0
        self.v_dvar, self.s_dvar = [], []
        self.built = False

    def apply_gradients(self, grads, vars):
        if not self.built:
            for var in vars:
                v = tf.Variable(tf.zeros(shape=var.shape))
                s = tf.Variable(tf.zeros(shape=var.shape))
                self.v_dvar.append(v)
                self.s_dvar.append(s)
            self.built = True
        for i, (d_var, var) in enumerate(zip(grads, vars)):
            self.v_dvar[i] = self.beta_1 * self.v_dvar[i] + (1 - self.beta_1) * d_var
            self.s_dvar[i] = self.beta_2 * self.s_dvar[i] + (1 - self.beta_2) * tf.square(d_var)
            v_dvar_bc = self.v_dvar[i] / (1 - (self.beta_1 ** self.t))
            s_dvar_bc = self.s_dvar[i] / (1 - (self.beta_2 ** self.t))
            var.assign_sub(self.learning_rate * (v_dvar_bc / (tf.sqrt(s_dvar_bc) + self.ep)))
        self.t += 1.0


adam_model = LinearRegression(init=fixed_init)
adam = Adam(learning_rate=0.05)
fit(adam_model, train_dataset, epochs=30, update=adam.apply_gradients, prefix="adam: ")
print("adam weights:", tf.squeeze(adam_model.w).numpy())

# The tutorial's own version: random initial weights and shuffled batches (seeded).
seeded_model = LinearRegression()
shuffled = (tf.data.Dataset.from_tensor_slices((x_train_norm, y_train_norm))
            .shuffle(buffer_size=x_train.shape[0], seed=22).batch(batch_size))
fit(seeded_model, shuffled, epochs=30, update=sgd(0.01), prefix="[seeded] ")
