import gradtape as tf
# Modelled on TensorFlow's tutorial "Optimizers with Core APIs": gradient descent, momentum
# and Adam written by hand as tf.Modules, a convergence test on a 1-d polynomial, and (beyond
# the tutorial) the same optimizers on a 2-d function, next to tf.optimizers' versions.
import numpy as np

tf.random.set_seed(22)


def grad(f, x):
    # the derivative of f at x through a tape
    with tf.GradientTape() as tape:
        tape.watch(x)
        result = f(x)
    return tape.gradient(result, x)


x = tf.Variable(2.0)
print("d/dx x**2 at 2:", grad(lambda x: x ** 2, x).numpy())

loss = lambda x: 2 * (x ** 4) + 3 * (x ** 3) + 2
grad_loss = lambda x: grad(loss, x)
x_vals = tf.linspace(-2, 2, 201)
x_vals = tf.cast(x_vals, tf.float32)
print("loss at -2, -1, 0, 1, 2:", loss(x_vals)[::50].numpy())
print("minimum of the sampled loss: %.6f at x = %.2f" % (
    tf.reduce_min(loss(x_vals)).numpy(), x_vals[int(tf.argmin(loss(x_vals)))].numpy()))


class GradientDescent(tf.Module):
    def __init__(self, learning_rate=1e-3):
        self.learning_rate = learning_rate
        self.title = f"Gradient descent optimizer: learning rate={self.learning_rate}"

    def apply_gradients(self, grads, vars):
        for grad, var in zip(grads, vars):
            var.assign_sub(self.learning_rate * grad)


def convergence_test(optimizer, loss_fn, grad_fn=grad_loss, init_val=2.0, max_iters=2000):
    print(optimizer.title)
    print("-------------------------------")
    param_map = {}
    loss_map = {}
    x = tf.Variable(init_val)
    for iter in range(1, max_iters + 1):
        x_grad = grad_fn(x)
        optimizer.apply_gradients(grads=[x_grad], vars=[x])
        param_map[iter] = x.numpy()
        loss_map[iter] = loss_fn(x).numpy()
        if tf.math.is_nan(x_grad) or tf.math.is_inf(x_grad):
            print(f"Gradient exploded at iteration {iter}\n")
            return []
        if iter > 1 and abs(param_map[iter] - param_map[iter - 1]) < 1e-5:
            print(f"Converged in {iter} iterations")
            print(f"x = {x.numpy():.6f}, loss = {loss_fn(x).numpy():.6f}\n")
            return param_map
    print(f"Exceeded maximum of {max_iters} iterations. Test terminated.")
    print(f"x = {x.numpy():.6f}\n")
    return param_map


param_map_gd = {}
learning_rates = [1e-3, 1e-2, 1e-1]
for learning_rate in learning_rates:
    param_map_gd[learning_rate] = convergence_test(GradientDescent(learning_rate=learning_rate), loss_fn=loss)


class Momentum(tf.Module):
    def __init__(self, learning_rate=1e-3, momentum=0.7):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.change = 0.0
        self.title = f"Gradient descent optimizer: learning rate={self.learning_rate}, momentum={self.momentum}"

    def apply_gradients(self, grads, vars):
        for grad, var in zip(grads, vars):
            curr_change = self.learning_rate * grad + self.momentum * self.change
            var.assign_sub(curr_change)
            self.change = curr_change


param_map_mtm = {}
for momentum in [0, 0.5, 0.9]:
    param_map_mtm[momentum] = convergence_test(Momentum(learning_rate=1e-2, momentum=momentum), loss_fn=loss)


class Adam(tf.Module):
    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, ep=1e-7):
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.learning_rate = learning_rate
        self.ep = ep
        self.t = 1.0
        self.v_dvar, self.s_dvar = [], []
        self.title = f"Adam: learning rate={self.learning_rate}"
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


param_map_adam = {}
for learning_rate in [1e-3, 1e-2, 1e-1]:
    param_map_adam[learning_rate] = convergence_test(Adam(learning_rate=learning_rate), loss_fn=loss)

# A 2-d function: an elongated valley, f(x, y) = (x - 1)**2 + 10 (y + 0.5)**2 + x y / 2
def loss_2d(p):
    x, y = p[0], p[1]
    return (x - 1.0) ** 2 + 10.0 * (y + 0.5) ** 2 + 0.5 * x * y


def run_2d(optimizer, steps=150, keras=False):
    p = tf.Variable([-1.5, 1.5])
    for step in range(steps):
        with tf.GradientTape() as tape:
            value = loss_2d(p)
        g = tape.gradient(value, p)
        if keras:
            optimizer.apply_gradients(zip([g], [p]))
        else:
            optimizer.apply_gradients([g], [p])
    print(f"{getattr(optimizer, 'title', type(optimizer).__name__)}: p = {p.numpy()}, f = {loss_2d(p).numpy():.6f}")
    return p


run_2d(GradientDescent(learning_rate=0.04))
run_2d(Momentum(learning_rate=0.02, momentum=0.6))
run_2d(Adam(learning_rate=0.1))
run_2d(tf.optimizers.SGD(learning_rate=0.04), keras=True)
run_2d(tf.optimizers.SGD(learning_rate=0.02, momentum=0.6), keras=True)
run_2d(tf.optimizers.Adam(learning_rate=0.1), keras=True)
run_2d(tf.optimizers.RMSprop(learning_rate=0.05), keras=True)
