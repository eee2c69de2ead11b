import threading

import numpy as np
import pytest

from core.engine import (
    Cancelled,
    Finished,
    History,
    Metrics,
    MetricsBuffer,
    RunControl,
    Throttle,
    run_headless,
)


def counting_job(cfg, ctl):
    for i in range(cfg):
        ctl.checkpoint()
        yield Metrics(step=i, values={"i": float(i)})
    yield Finished({"n": cfg})


def test_run_headless_yields_every_event_in_order():
    events = run_headless(counting_job, 5)
    assert [e.step for e in events[:-1]] == [0, 1, 2, 3, 4]
    assert events[-1] == Finished({"n": 5})


def test_stop_raises_cancelled_at_the_next_checkpoint():
    ctl = RunControl()
    ctl.stop()
    with pytest.raises(Cancelled):
        ctl.checkpoint()
    assert run_headless(counting_job, 10, ctl) == []


def test_single_steps_pass_exactly_that_many_checkpoints():
    ctl = RunControl(paused=True)
    ctl.step(3)
    passed = []

    def worker():
        try:
            for _ in range(10):
                ctl.checkpoint()
                passed.append(1)
        except Cancelled:
            pass

    t = threading.Thread(target=worker)
    t.start()
    # The worker blocks in the 4th checkpoint; wait for it to get there.
    for _ in range(1000):
        if len(passed) == 3:
            break
        t.join(0.005)
    assert len(passed) == 3
    assert t.is_alive()
    ctl.stop()
    t.join(1.0)
    assert not t.is_alive()
    assert len(passed) == 3


def test_resume_lets_a_paused_job_continue():
    ctl = RunControl(paused=True)
    done = threading.Event()

    def worker():
        for _ in range(5):
            ctl.checkpoint()
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    assert not done.wait(0.05)
    ctl.resume()
    assert done.wait(2.0)
    t.join()
    assert ctl.checkpoints == 5


def test_max_rate_is_interruptible_by_stop():
    ctl = RunControl(max_rate=0.001)  # one checkpoint every 1000 s
    ctl.checkpoint()  # the first passes at once
    stopped = threading.Event()

    def worker():
        try:
            ctl.checkpoint()
        except Cancelled:
            stopped.set()

    t = threading.Thread(target=worker)
    t.start()
    ctl.stop()
    assert stopped.wait(1.0)


def test_throttle_is_due_at_first_and_then_limits():
    th = Throttle(hz=1e-6)
    assert th.due()
    assert not th.due()


def test_metrics_buffer_flushes_chunks_and_empties():
    buf = MetricsBuffer(series="a")
    assert buf.flush() is None
    buf.add(1, loss=0.5, acc=0.1)
    buf.add(2, loss=0.25, acc=0.2)
    chunk = buf.flush()
    assert isinstance(chunk, History) and chunk.series == "a"
    np.testing.assert_array_equal(chunk.steps, [1, 2])
    np.testing.assert_allclose(chunk.values["loss"], [0.5, 0.25])
    assert len(buf) == 0


def test_rate_limit_on_a_freshly_booted_machine(monkeypatch):
    """perf_counter counts from boot: a few seconds after boot the first checkpoint must
    not wait for the clock to reach 1/max_rate."""
    import core.engine

    fake_now = [3.0]
    monkeypatch.setattr(core.engine.time, "perf_counter", lambda: fake_now[0])
    ctl = RunControl(max_rate=0.001)
    passed = threading.Event()

    def worker():
        ctl.checkpoint()
        passed.set()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    assert passed.wait(2.0), "the first rate-limited checkpoint waited for the clock"
    ctl.stop()
    t.join(2.0)
