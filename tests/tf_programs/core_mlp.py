import gradtape as tf
# Modelled on TensorFlow's tutorial "Multilayer perceptrons for digit recognition with Core
# APIs": Xavier initialisation, DenseLayer and MLP tf.Modules, sparse softmax cross-entropy,
# accuracy through argmax, a hand-written Adam, and tf.optimizers.Adam / SGD on the same
# model. MNIST is replaced by small synthetic 8x8 "digits" drawn with NumPy (no download),
# and there is no tf.function (gradtape runs eagerly).
import numpy as np

tf.random.set_seed(22)

rng = np.random.default_rng(11)
num_classes, side = 10, 8
prototypes = rng.uniform(0, 255, size=(num_classes, side, side))


def make_digits(count):
    y = rng.integers(0, num_classes, size=count)
    x = prototypes[y] + rng.normal(scale=90.0, size=(count, side, side))
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)


x_train, y_train = make_digits(1200)
x_val, y_val = make_digits(300)
train_data = tf.data.Dataset.from_tensor_slices((x_train, y_train))
val_data = tf.data.Dataset.from_tensor_slices((x_val, y_val))
print("cardinality:", train_data.cardinality().numpy(), val_data.cardinality().numpy())


def preprocess(x, y):
    # flatten the images and scale them to [0, 1]
    x = tf.reshape(x, shape=[-1, side * side])
    x = tf.cast(x, tf.float32) / 255
    return x, y


batch_size = 128
train_data = train_data.batch(batch_size).map(preprocess)
val_data = val_data.batch(batch_size).map(preprocess)
x0, y0 = next(iter(train_data))
print("first batch:", x0.shape, x0.dtype.name, y0.shape, "pixel mean %.6f" % tf.reduce_mean(x0).numpy())
print("labels:", y0[:12].numpy())


def xavier_init(shape):
    # Xavier / Glorot uniform initialisation, as the tutorial writes it
    in_dim, out_dim = shape
    xavier_lim = tf.sqrt(6.0) / tf.sqrt(tf.cast(in_dim + out_dim, tf.float32))
    weight_vals = tf.random.uniform(shape=(in_dim, out_dim), minval=-xavier_lim, maxval=xavier_lim, seed=22)
    return weight_vals


def numpy_xavier_init(seed):
    # the same limits, drawn by NumPy, so that TensorFlow and gradtape start alike
    gen = np.random.default_rng(seed)

    def init(shape):
        in_dim, out_dim = shape
        lim = np.sqrt(6.0) / np.sqrt(in_dim + out_dim)
        return tf.constant(gen.uniform(-lim, lim, size=shape).astype(np.float32))
    return init


class DenseLayer(tf.Module):
    def __init__(self, out_dim, weight_init=xavier_init, activation=tf.identity):
        self.out_dim = out_dim
        self.weight_init = weight_init
        self.activation = activation
        self.built = False

    def __call__(self, x):
        if not self.built:
            self.in_dim = x.shape[1]
            self.w = tf.Variable(self.weight_init(shape=(self.in_dim, self.out_dim)))
            self.b = tf.Variable(tf.zeros(shape=(self.out_dim,)))
            self.built = True
        z = tf.add(tf.matmul(x, self.w), self.b)
        return self.activation(z)


class MLP(tf.Module):
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x, preds=False):
        for layer in self.layers:
            x = layer(x)
        return x


hidden_layer_1_size = 48
hidden_layer_2_size = 24
output_size = num_classes


def make_mlp(init):
    return MLP([
        DenseLayer(out_dim=hidden_layer_1_size, activation=tf.nn.relu, weight_init=init),
        DenseLayer(out_dim=hidden_layer_2_size, activation=tf.nn.relu, weight_init=init),
        DenseLayer(out_dim=output_size, weight_init=init)])


def cross_entropy_loss(y_pred, y):
    sparse_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=y_pred)
    return tf.reduce_mean(sparse_ce)


def accuracy(y_pred, y):
    class_preds = tf.argmax(tf.nn.softmax(y_pred), axis=1)
    is_equal = tf.equal(y, class_preds)
    return tf.reduce_mean(tf.cast(is_equal, tf.float32))


class Adam:
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


def train_step(x_batch, y_batch, loss, acc, model, optimizer):
    with tf.GradientTape() as tape:
        y_pred = model(x_batch)
        batch_loss = loss(y_pred, y_batch)
    batch_acc = acc(y_pred, y_batch)
    grads = tape.gradient(batch_loss, model.variables)
    if isinstance(optimizer, Adam):
        optimizer.apply_gradients(grads, model.variables)
    else:
        optimizer.apply_gradients(zip(grads, model.variables))
    return batch_loss, batch_acc


def val_step(x_batch, y_batch, loss, acc, model):
    y_pred = model(x_batch)
    return loss(y_pred, y_batch), acc(y_pred, y_batch)


def train_model(mlp, train_data, val_data, loss, acc, optimizer, epochs, prefix=""):
    train_losses, train_accs = [], []
    val_losses, val_accs = [], []
    for epoch in range(epochs):
        batch_losses_train, batch_accs_train = [], []
        batch_losses_val, batch_accs_val = [], []
        for x_batch, y_batch in train_data:
            batch_loss, batch_acc = train_step(x_batch, y_batch, loss, acc, mlp, optimizer)
            batch_losses_train.append(batch_loss)
            batch_accs_train.append(batch_acc)
        for x_batch, y_batch in val_data:
            batch_loss, batch_acc = val_step(x_batch, y_batch, loss, acc, mlp)
            batch_losses_val.append(batch_loss)
            batch_accs_val.append(batch_acc)
        train_loss, train_acc = tf.reduce_mean(batch_losses_train), tf.reduce_mean(batch_accs_train)
        val_loss, val_acc = tf.reduce_mean(batch_losses_val), tf.reduce_mean(batch_accs_val)
        train_losses.append(train_loss)
        train_accs.append(train_acc)
        val_losses.append(val_loss)
        val_accs.append(val_acc)
        print(f"{prefix}Epoch: {epoch}")
        print(f"{prefix}Training loss: {train_loss:.4f}, Training accuracy: {train_acc:.4f}")
        print(f"{prefix}Validation loss: {val_loss:.4f}, Validation accuracy: {val_acc:.4f}")
    return train_losses, train_accs, val_losses, val_accs


mlp_model = make_mlp(numpy_xavier_init(0))
train_model(mlp_model, train_data, val_data, loss=cross_entropy_loss, acc=accuracy,
            optimizer=Adam(learning_rate=1e-2), epochs=4, prefix="hand-written Adam: ")
print("variables:", [tuple(v.shape) for v in mlp_model.variables])
print("first logits:", mlp_model(x0[:1]).numpy())

mlp_model = make_mlp(numpy_xavier_init(0))
keras_adam = tf.optimizers.Adam(learning_rate=1e-2)
train_model(mlp_model, train_data, val_data, loss=cross_entropy_loss, acc=accuracy,
            optimizer=keras_adam, epochs=4, prefix="tf.optimizers.Adam: ")
print("iterations:", keras_adam.iterations.numpy())

mlp_model = make_mlp(numpy_xavier_init(0))
sgd = tf.optimizers.SGD(learning_rate=0.1, momentum=0.9)
train_model(mlp_model, train_data, val_data, loss=cross_entropy_loss, acc=accuracy,
            optimizer=sgd, epochs=4, prefix="tf.optimizers.SGD: ")
print("iterations:", sgd.iterations.numpy())

# The tutorial's version: Xavier weights from tf.random (seeded) and shuffled batches.
mlp_model = make_mlp(xavier_init)
shuffled = (tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1200, seed=22)
            .batch(batch_size).map(preprocess))
train_model(mlp_model, shuffled, val_data, loss=cross_entropy_loss, acc=accuracy,
            optimizer=Adam(learning_rate=1e-2), epochs=2, prefix="[seeded] ")
