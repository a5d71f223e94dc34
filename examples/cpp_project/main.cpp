// gradtape from C++: a derivative with gt::Tape, then a least-squares fit by gradient descent
// on gt::Variables. Build: see CMakeLists.txt. Exits 1 if the fit misses the known answer.
#include <gradtape/gradtape.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <vector>

int main() {
  // 1. d(x^2)/dx at x = 3. A TapeScope records on this thread while it lives (Python's
  //    `with tape:`); gradient() is called after it closes.
  gt::Tensor x = gt::scalar(3.0, gt::DType::Float64);
  gt::Tape tape;
  gt::Tensor y;
  {
    gt::TapeScope scope(tape);
    tape.watch(x);
    y = x * x;
  }
  double dy_dx = tape.gradient({y}, {x})[0].item();
  std::printf("dy_dx=%g\n", dy_dx);  // 6

  // 2. Fit y = X w + b to data made by a known model, w = (2, -3, 0.5), b = 1, with the mean
  //    squared error and plain gradient descent. Trainable variables read under a tape are
  //    watched without being named.
  const int64_t n = 200, d = 3;
  const float w_true[d] = {2.0f, -3.0f, 0.5f}, b_true = 1.0f;
  std::vector<float> xs(n * d), ys(n);
  for (int64_t i = 0; i < n; ++i) {
    ys[i] = b_true;
    for (int64_t j = 0; j < d; ++j) {
      xs[i * d + j] = static_cast<float>(std::sin(0.9 * double(i) * double(j + 1) + double(j)));
      ys[i] += w_true[j] * xs[i * d + j];
    }
  }
  gt::Tensor X = gt::from_data(xs.data(), gt::DType::Float32, {n, d});
  gt::Tensor Y = gt::from_data(ys.data(), gt::DType::Float32, {n, 1});
  auto w = std::make_shared<gt::Variable>(gt::zeros({d, 1}), /*trainable=*/true, "w");
  auto b = std::make_shared<gt::Variable>(gt::zeros({1}), /*trainable=*/true, "b");

  const double learning_rate = 0.2;
  double loss_value = 0;
  for (int step = 0; step <= 200; ++step) {
    gt::Tape step_tape;
    gt::Tensor loss;
    {
      gt::TapeScope scope(step_tape);
      gt::Tensor prediction = gt::matmul(X, w->read()) + b->read();  // matmul: OpenBLAS
      loss = gt::reduce_mean(gt::square(prediction - Y));
    }
    std::vector<gt::Tensor> grads = step_tape.gradient({loss}, {w, b});
    w->assign_sub(grads[0] * learning_rate);
    b->assign_sub(grads[1] * learning_rate);
    loss_value = loss.item();
    if (step % 40 == 0) std::printf("step %3d: loss %.3e\n", step, loss_value);
  }

  const float* wv = w->value().data<float>();
  const float bv = b->value().data<float>()[0];
  std::printf("w=(%.3f, %.3f, %.3f) b=%.3f\n", wv[0], wv[1], wv[2], bv);
  double err = std::fabs(bv - b_true);
  for (int64_t j = 0; j < d; ++j) err = std::fmax(err, std::fabs(wv[j] - w_true[j]));
  std::printf("%s\n", err < 1e-3 ? "fit: ok" : "fit: FAILED");
  return err < 1e-3 ? 0 : 1;
}
