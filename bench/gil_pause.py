"""The longest wait of another Python thread (waking every 1 ms) during a 1M-op backward and a
1500x1500 jacobian: python bench/gil_pause.py (the figures are in the commit that released the GIL)."""
import sys, threading, time, gradtape as gt, numpy as np
def watch(fn):
    stop = threading.Event(); gaps = []
    def watcher():
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter(); gaps.append(now - last); last = now
    th = threading.Thread(target=watcher); th.start()
    time.sleep(0.05)
    t0 = time.perf_counter(); fn(); dt = time.perf_counter() - t0
    stop.set(); th.join()
    return dt, max(gaps)
x = gt.constant(1.0, dtype=gt.float64)
with gt.GradientTape() as tape:
    tape.watch(x)
    y = x
    for _ in range(1_000_000):
        y = y * 1.000001
dt, gap = watch(lambda: tape.gradient(y, x))
print("1M-op backward: %.2f s, longest pause %.0f ms" % (dt, gap * 1e3))
v = gt.constant(np.random.default_rng(0).normal(size=1500))
m = gt.constant(np.random.default_rng(1).normal(size=(1500, 1500)))
with gt.GradientTape() as tape:
    tape.watch(v)
    z = gt.tanh(gt.linalg.matvec(m, v)) if hasattr(gt, "linalg") and hasattr(gt.linalg, "matvec") else gt.tanh(gt.reshape(gt.matmul(m, gt.reshape(v, [1500, 1])), [1500]))
dt, gap = watch(lambda: tape.jacobian(z, v))
print("1500x1500 jacobian: %.2f s, longest pause %.0f ms" % (dt, gap * 1e3))
