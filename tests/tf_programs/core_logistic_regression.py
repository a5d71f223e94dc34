import gradtape as tf
# Modelled on TensorFlow's tutorial "Logistic regression for binary classification with Core
# APIs": normalise, a logistic-regression tf.Module, log loss through
# tf.nn.sigmoid_cross_entropy_with_logits, accuracy, mini-batch training over tf.data. The
# tutorial's breast-cancer table is replaced by two Gaussian classes drawn with NumPy.
import numpy as np

tf.random.set_seed(22)

rng = np.random.default_rng(5)
n, d = 400, 8
labels = (rng.uniform(size=n) < 0.4).astype(np.float32)
centres = rng.normal(size=(2, d)) * 1.2
features = centres[labels.astype(int)] + rng.normal(size=(n, d)) * 1.5
features = (features * rng.uniform(0.5, 20.0, size=d) + rng.uniform(-5, 50, size=d)).astype(np.float32)

train_size = int(0.75 * n)
x_train, y_train = tf.constant(features[:train_size]), tf.constant(labels[:train_size])
x_test, y_test = tf.constant(features[train_size:]), tf.constant(labels[train_size:])
print("train/test:", x_train.shape, x_test.shape, "positives in train:", int(tf.reduce_sum(y_train)))


class Normalize(tf.Module):
    def __init__(self, x):
        self.mean = tf.Variable(tf.math.reduce_mean(x, axis=0))
        self.std = tf.Variable(tf.math.reduce_std(x, axis=0))

    def norm(self, x):
        return (x - self.mean) / self.std

    def unnorm(self, x):
        return (x * self.std) + self.mean


norm_x = Normalize(x_train)
x_train_norm, x_test_norm = norm_x.norm(x_train), norm_x.norm(x_test)
print("variance of a normalised feature:", tf.math.reduce_variance(x_train_norm[:, 0]).numpy())

# the log loss: -y log(sigmoid(z)) - (1 - y) log(1 - sigmoid(z))
x = tf.linspace(-10, 10, 500)
x = tf.cast(x, tf.float32)
f = lambda x: tf.nn.sigmoid(x)
print("sigmoid at -10, 0, 10:", f(x)[0].numpy(), f(tf.constant(0.0)).numpy(), f(x)[-1].numpy())


def log_loss(y_pred, y):
    ce = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=y_pred)
    return tf.reduce_mean(ce)


print("log loss examples:", tf.nn.sigmoid_cross_entropy_with_logits(
    labels=tf.constant([0.0, 1.0, 1.0, 0.0]), logits=tf.constant([-3.0, 2.0, -30.0, 100.0])).numpy())


class LogisticRegression(tf.Module):
    def __init__(self, init=None):
        self.built = False
        self.init = init

    def __call__(self, x, train=True):
        if not self.built:
            if self.init is None:
                rand_w = tf.random.uniform(shape=[x.shape[-1], 1], seed=22)
                rand_b = tf.random.uniform(shape=[], seed=22)
            else:
                rand_w, rand_b = self.init([x.shape[-1], 1]), tf.constant(0.0)
            self.w = tf.Variable(rand_w)
            self.b = tf.Variable(rand_b)
            self.built = True
        z = tf.add(tf.matmul(x, self.w), self.b)
        z = tf.squeeze(z, axis=1)
        if train:
            return z
        return tf.sigmoid(z)


def fixed_init(shape):
    return tf.constant(np.linspace(0.0, 1.0, int(np.prod(shape)), dtype=np.float32).reshape(shape))


log_reg = LogisticRegression(init=fixed_init)
y_pred = log_reg(x_train_norm[:5], train=False)
print("untrained probabilities:", y_pred.numpy())


def predict_class(y_pred, thresh=0.5):
    return tf.cast(y_pred > thresh, tf.float32)


def accuracy(y_pred, y):
    y_pred = tf.math.sigmoid(y_pred)
    y_pred_class = predict_class(y_pred)
    check_equal = tf.cast(y_pred_class == y, tf.float32)
    return tf.reduce_mean(check_equal)


batch_size = 64
train_dataset = tf.data.Dataset.from_tensor_slices((x_train_norm, y_train)).batch(batch_size)
test_dataset = tf.data.Dataset.from_tensor_slices((x_test_norm, y_test)).batch(batch_size)


def train(model, train_dataset, test_dataset, epochs=200, learning_rate=0.01, prefix=""):
    train_losses, test_losses = [], []
    train_accs, test_accs = [], []
    for epoch in range(epochs):
        batch_losses_train, batch_accs_train = [], []
        batch_losses_test, batch_accs_test = [], []
        for x_batch, y_batch in train_dataset:
            with tf.GradientTape() as tape:
                y_pred_batch = model(x_batch)
                batch_loss = log_loss(y_pred_batch, y_batch)
            batch_acc = accuracy(y_pred_batch, y_batch)
            grads = tape.gradient(batch_loss, model.variables)
            for g, v in zip(grads, model.variables):
                v.assign_sub(learning_rate * g)
            batch_losses_train.append(batch_loss)
            batch_accs_train.append(batch_acc)
        for x_batch, y_batch in test_dataset:
            y_pred_batch = model(x_batch)
            batch_losses_test.append(log_loss(y_pred_batch, y_batch))
            batch_accs_test.append(accuracy(y_pred_batch, y_batch))
        train_loss, train_acc = tf.reduce_mean(batch_losses_train), tf.reduce_mean(batch_accs_train)
        test_loss, test_acc = tf.reduce_mean(batch_losses_test), tf.reduce_mean(batch_accs_test)
        train_losses.append(train_loss)
        train_accs.append(train_acc)
        test_losses.append(test_loss)
        test_accs.append(test_acc)
        if epoch % 20 == 0:
            print(f"{prefix}Epoch: {epoch}, Training log loss: {train_loss:.4f}")
    print(f"{prefix}Final training log loss: {train_losses[-1]:.5f}, accuracy {train_accs[-1]:.5f}")
    print(f"{prefix}Final testing log loss: {test_losses[-1]:.5f}, accuracy {test_accs[-1]:.5f}")


train(log_reg, train_dataset, test_dataset, epochs=100)
print("weights:", tf.squeeze(log_reg.w).numpy(), "bias:", log_reg.b.numpy())
test_probs = log_reg(x_test_norm, train=False)
test_classes = predict_class(test_probs)
tp = int(tf.reduce_sum(test_classes * y_test))
fp = int(tf.reduce_sum(test_classes * (1 - y_test)))
fn = int(tf.reduce_sum((1 - test_classes) * y_test))
print("true positives", tp, "false positives", fp, "false negatives", fn)
print("first probabilities:", test_probs[:6].numpy())

# The tutorial's version: seeded random initial weights and shuffled batches.
seeded = LogisticRegression()
shuffled = (tf.data.Dataset.from_tensor_slices((x_train_norm, y_train))
            .shuffle(buffer_size=x_train.shape[0], seed=3).batch(batch_size))
train(seeded, shuffled, test_dataset, epochs=41, prefix="[seeded] ")
