"""The tape's bookkeeping per recorded op (T11: at most 32 bytes beyond the saved tensors)."""
import gradtape as gt


def test_bookkeeping_bytes_per_recorded_op():
    x = gt.constant(0.5)
    with gt.GradientTape() as tape:
        tape.watch(x)
        y = x
        for _ in range(1000):
            y = gt.sin(y) * 1.0001 + 0.001  # one unary and two binary ops
    per_op = tape._bookkeeping_bytes / tape.num_records
    assert tape.num_records == 3000
    assert per_op <= 32, per_op
    # 16-byte record, 4 bytes per slot id, 4 per output's slot birth: unary 28, binary 32
    assert abs(per_op - (28 + 32 + 32) / 3) < 0.1, per_op
