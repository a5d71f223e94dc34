import gradtape as tf
# Modelled on TensorFlow's guide "Introduction to modules, layers, and models" (the parts
# without Keras, tf.function or SavedModel): modules and submodules, variable collections,
# name scopes, building on first call, and checkpoints of a module.
import os
import numpy as np

rng = np.random.default_rng(0)


def normal(shape):
    # the guide initialises with tf.random.normal; NumPy's values are the same under both
    return tf.constant(rng.standard_normal(shape).astype(np.float32))


class SimpleModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.a_variable = tf.Variable(5.0, name="train_me")
        self.non_trainable_variable = tf.Variable(5.0, trainable=False, name="do_not_train_me")

    def __call__(self, x):
        return self.a_variable * x + self.non_trainable_variable


simple_module = SimpleModule(name="simple")
print(simple_module(tf.constant(5.0)))
print("name:", simple_module.name, "| scope:", simple_module.name_scope.name)
print("trainable variables:", simple_module.trainable_variables)
print("all variables:", simple_module.variables)
print("non-trainable:", [v.name for v in simple_module.non_trainable_variables])


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class SequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


my_model = SequentialModule(name="the_model")
print("Model results:", my_model(tf.constant([[2.0, 2.0, 2.0]])))
print("Submodules:", [m.name for m in my_model.submodules])
for var in my_model.variables:
    print(var, "\n")


class FlexibleDenseModule(tf.Module):
    # no input size given: the weights are made on the first call
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.is_built = False
        self.out_features = out_features

    def __call__(self, x):
        if not self.is_built:
            self.w = tf.Variable(normal([x.shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")
            self.is_built = True
        y = tf.matmul(x, self.w) + self.b
        return tf.nn.relu(y)


class MySequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = FlexibleDenseModule(out_features=3)
        self.dense_2 = FlexibleDenseModule(out_features=2)

    def __call__(self, x):
        x = self.dense_1(x)
        return self.dense_2(x)


my_model = MySequentialModule(name="the_model")
print("Model results:", my_model(tf.constant([[2.0, 2.0, 2.0]])))
print("trainable:", [(v.name, tuple(v.shape)) for v in my_model.trainable_variables])

# Name scopes: variables made inside a module's name_scope carry its name.
class ScopedDense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        with self.name_scope:
            self.w = tf.Variable(normal([in_features, out_features]), name="w")
            self.b = tf.Variable(tf.zeros([out_features]), name="b")

    @tf.Module.with_name_scope
    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


class ScopedMLP(tf.Module):
    def __init__(self, sizes, name=None):
        super().__init__(name=name)
        self.layers = []
        with self.name_scope:
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                self.layers.append(ScopedDense(a, b, name="dense_%d" % i))

    @tf.Module.with_name_scope
    def __call__(self, x):
        for layer in self.layers:
            x = tf.nn.relu(layer(x))
        return x


mlp = ScopedMLP([3, 4, 2], name="mlp")
print([v.name for v in mlp.variables])
print([m.name for m in mlp.submodules])
print(mlp(tf.constant([[1.0, -1.0, 0.5]])))
with tf.name_scope("outer"):
    with tf.name_scope("inner") as scope:
        v = tf.Variable(1.0, name="v")
print("scope:", scope, "variable:", v.name)

# Checkpoints: write the weights of my_model, look inside, restore them into a new model.
chkp_path = "my_checkpoint"
checkpoint = tf.train.Checkpoint(model=my_model)
checkpoint.write(chkp_path)
# TensorFlow's file also holds its object graph; gradtape's write() also saves save_counter
# (docs/choices.md). The module's own entries are the same.
names = [(name, shape) for name, shape in tf.train.list_variables(chkp_path)
         if "OBJECT_GRAPH" not in name and not name.startswith("save_counter")]
for name, shape in names:
    print(name, shape)
print(tf.train.load_variable(chkp_path, "model/dense_2/b/.ATTRIBUTES/VARIABLE_VALUE"))

new_model = MySequentialModule()
new_checkpoint = tf.train.Checkpoint(model=new_model)
new_checkpoint.restore("my_checkpoint")
# restoring before the variables exist: they take the saved values when they are made
print("Restored results:", new_model(tf.constant([[2.0, 2.0, 2.0]])))

# save() numbers the checkpoints; a manager keeps the last few
ckpt = tf.train.Checkpoint(model=mlp)
manager = tf.train.CheckpointManager(ckpt, "./tf_ckpts", max_to_keep=2)
for step in range(3):
    for v in mlp.trainable_variables:
        v.assign_add(tf.ones_like(v))
    path = manager.save()
    print("saved", os.path.basename(path), "save_counter", ckpt.save_counter.numpy())
print("kept:", [os.path.basename(p) for p in manager.checkpoints])
print("latest:", os.path.basename(tf.train.latest_checkpoint("./tf_ckpts")))
before = [v.numpy().copy() for v in mlp.variables]
for v in mlp.trainable_variables:
    v.assign(tf.zeros_like(v))
status = ckpt.restore(manager.checkpoints[0])
status.assert_consumed()
print("restored the older checkpoint:", all(np.allclose(b - 1, v.numpy(), atol=1e-6) for b, v in zip(before, mlp.variables)))
