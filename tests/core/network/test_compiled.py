"""The compiled loop (numba) equals torch.optim, carries a run on without a jump, and draws the same pictures."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.network import compiled
from core.network.fast import FAST_ACTIVATIONS, FAST_OPTIMIZERS, ONECYCLE_OPTIMIZERS, FastTrainer
from core.network.model import NetworkSpec, build_network
from core.network.settings import TrainSettings
from core.network.torch_trainer import TorchTrainer
from core.network.training import train_network
from tests.core.network.test_model import BLOBS, CIRCLE, ONECYCLE_LR, PLANE, TEST_LR, VARIANTS, _max_gap


@pytest.fixture(scope="module")
def kernels():
    assert compiled.wait_ready(600), compiled.status()
    return compiled.kernels()


def _compiled_pair(spec, settings, data, kernels, seed=3):
    fast = FastTrainer(build_network(spec, seed=seed), spec, data, settings, torch.Generator().manual_seed(9))
    fast.switch_to_compiled(kernels)
    ref = TorchTrainer(build_network(spec, seed=seed), spec, data, settings, torch.Generator().manual_seed(9))
    return fast, ref


def _nudged_reference(spec, settings, data, seed):
    """torch.optim from weights one float32 step away: how far rounding alone carries a setup."""
    nudged = TorchTrainer(build_network(spec, seed=seed), spec, data, settings, torch.Generator().manual_seed(9))
    with torch.no_grad():
        for p in nudged.model.parameters():
            p.copy_(torch.nextafter(p, torch.full_like(p, math.inf)))
    return nudged


def _train_and_compare(fast, ref, nudged, epochs):
    """Train all three; the largest parameter and loss gaps of ``fast`` and of ``nudged`` from ``ref``."""
    gap = loss_gap = drift = loss_drift = 0.0
    for _ in range(epochs):
        losses = []
        for t in (fast, ref, nudged):
            t.epoch()
            ev = t.evaluate()
            t.end_epoch(ev["test_loss"])
            losses.append(ev["train_loss"])
        gap, drift = max(gap, _max_gap(fast, ref)), max(drift, _max_gap(nudged, ref))
        loss_gap = max(loss_gap, abs(losses[0] - losses[1]))
        loss_drift = max(loss_drift, abs(losses[2] - losses[1]))
    return gap, loss_gap, drift, loss_drift


def _assert_equal_to_torch_optim(fast, ref, nudged, epochs):
    """Within 1e-5 of torch.optim, except where float32 rounding alone drifts further.

    Over many steps some setups (small batches, heavy momentum, noise, L1's sign near
    zero) amplify differences of one rounding. How far is measured, not guessed: the
    nudged reference run shows it. There the kernel must stay within a few times that.
    """
    gap, loss_gap, drift, loss_drift = _train_and_compare(fast, ref, nudged, epochs)
    assert gap < max(1e-5, 3 * drift), (gap, drift)
    assert loss_gap < max(1e-5, 3 * loss_drift), (loss_gap, loss_drift)


@pytest.mark.parametrize("optimizer", FAST_OPTIMIZERS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_compiled_loop_matches_torch_optim(kernels, optimizer, variant):
    spec, extra = VARIANTS[variant]
    lr = TEST_LR.get(optimizer, 0.01)  # a step that each optimizer takes steadily
    settings = TrainSettings(optimizer=optimizer, lr=lr, **extra)
    fast, ref = _compiled_pair(spec, settings, CIRCLE[2], kernels)
    _assert_equal_to_torch_optim(fast, ref, _nudged_reference(spec, settings, CIRCLE[2], 3), 20)
    assert fast.step == ref.step == 20 * math.ceil(100 / settings.batch_size)
    assert fast.lr == pytest.approx(ref.lr)


def _random_setup(rng, first_activation=None):
    depth = int(rng.integers(0 if first_activation is None else 1, 4))
    hidden = tuple(int(w) for w in rng.integers(1, 9, depth))
    acts = tuple(str(a) for a in rng.choice(FAST_ACTIVATIONS, depth))
    if first_activation is not None:
        acts = (first_activation, *acts[1:])
    task = str(rng.choice(["binary", "multiclass", "regression"]))
    data = {"binary": CIRCLE, "multiclass": BLOBS, "regression": PLANE}[task][2]
    loss = "mse" if task == "regression" or rng.random() < 0.3 else "cross_entropy"  # squared error on probabilities too
    spec = NetworkSpec(hidden=hidden, activations=acts, dropout=(0.0,) * depth, batchnorm=(False,) * depth,
                       task=data.task, n_classes=data.n_classes, loss=loss)
    optimizer = str(rng.choice(FAST_OPTIMIZERS))
    schedules = ["none", "step", "exponential", "cosine", "plateau"] + (["onecycle"] if optimizer in ONECYCLE_OPTIMIZERS else [])
    settings = TrainSettings(
        optimizer=optimizer,
        lr=float(10 ** rng.uniform(-3, -1.7 if optimizer.startswith("adam") else -1.3)),
        batch_size=int(rng.choice([2, 5, 10, 32])),
        regularization=str(rng.choice(["none", "l1", "l2"])),
        reg_rate=float(10 ** rng.uniform(-4, -2)),
        weight_decay=float(rng.choice([0.0, 1e-3])),
        schedule=str(rng.choice(schedules)),
        label_smoothing=float(rng.choice([0.0, 0.1])) if task != "regression" else 0.0,
        noise=str(rng.choice(["none", "input", "weights"])),
        noise_std=0.1,
        layer_lr=tuple(float(m) for m in rng.choice([0.5, 1.0, 2.0], depth + 1)) if rng.random() < 0.3 else (),
        schedule_epochs=100,
    )
    return spec, settings, data


@pytest.mark.parametrize("seed", range(len(FAST_ACTIVATIONS) + 2))
def test_compiled_loop_matches_torch_optim_over_100_epochs_on_random_setups(kernels, seed):
    # each activation in at least one setup; the last two draw freely (no hidden layer, too)
    first = FAST_ACTIVATIONS[seed] if seed < len(FAST_ACTIVATIONS) else None
    spec, settings, data = _random_setup(np.random.default_rng(seed), first)
    fast, ref = _compiled_pair(spec, settings, data, kernels, seed=seed)
    _assert_equal_to_torch_optim(fast, ref, _nudged_reference(spec, settings, data, seed), 100)
    assert fast.step == ref.step


@pytest.mark.parametrize("optimizer", ONECYCLE_OPTIMIZERS)
def test_compiled_loop_follows_the_one_cycle_schedule_and_its_momentum(kernels, optimizer):
    spec, extra = VARIANTS["l2_wd_layer_lr"]
    settings = TrainSettings(optimizer=optimizer, lr=ONECYCLE_LR.get(optimizer, 0.05), schedule="onecycle",
                             schedule_epochs=15, **extra)
    fast, ref = _compiled_pair(spec, settings, CIRCLE[2], kernels)
    _assert_equal_to_torch_optim(fast, ref, _nudged_reference(spec, settings, CIRCLE[2], 3), 20)  # the cycle, then its hold
    assert fast.lr == pytest.approx(ref.lr)


def test_switching_to_the_compiled_loop_mid_run_carries_the_run_on(kernels):
    """The background compile ends between two epochs: weights, momentum and schedule go on as they were."""
    spec, _ = VARIANTS["l2_wd_layer_lr"]
    for optimizer in ("nesterov", "adamw", "nadam"):
        settings = TrainSettings(optimizer=optimizer, lr=0.02, schedule="exponential", weight_decay=0.001,
                                 noise="weights", noise_std=0.02)
        fast = FastTrainer(build_network(spec, seed=1), spec, CIRCLE[2], settings, torch.Generator().manual_seed(9))
        ref = TorchTrainer(build_network(spec, seed=1), spec, CIRCLE[2], settings, torch.Generator().manual_seed(9))
        nudged = _nudged_reference(spec, settings, CIRCLE[2], 1)
        _assert_equal_to_torch_optim(fast, ref, nudged, 5)
        fast.switch_to_compiled(kernels)
        _assert_equal_to_torch_optim(fast, ref, nudged, 15)


def test_compiled_pictures_equal_the_torch_pictures(kernels):
    spec = NetworkSpec(hidden=(4, 3), activations=("tanh", "relu"))
    settings = TrainSettings(optimizer="adam", lr=0.01)
    a = FastTrainer(build_network(spec, seed=2), spec, CIRCLE[2], settings, torch.Generator().manual_seed(9))
    b = FastTrainer(build_network(spec, seed=2), spec, CIRCLE[2], settings, torch.Generator().manual_seed(9))
    b.switch_to_compiled(kernels)
    grid = torch.rand(50, 2) * 12 - 6
    (ha, za), (hb, zb) = a.maps(grid), b.maps(grid)
    assert [h.shape for h in ha] == [h.shape for h in hb] == [(50, 4), (50, 3)]
    for x, y in zip([*ha, za], [*hb, zb]):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=1e-6)
    assert a.evaluate() == pytest.approx(b.evaluate(), abs=1e-6)


def test_the_compiled_loop_is_cpu_only(kernels):
    spec = NetworkSpec()
    fast = FastTrainer(build_network(spec, seed=0), spec, CIRCLE[2], TrainSettings(), torch.Generator().manual_seed(0))
    fast.device = torch.device("meta")  # what a CUDA trainer reports, without needing a GPU
    with pytest.raises(ValueError, match="CPU"):
        fast.switch_to_compiled(kernels)


def test_a_job_trains_on_the_compiled_loop_once_it_is_loaded(kernels):
    from core.engine import Message, run_headless
    from tests.core.network.test_model import _cfg

    events = run_headless(train_network, _cfg(max_epochs=30))
    texts = [e.text for e in events if isinstance(e, Message)]
    assert texts == ["Engine: fast path, compiled (numba, off the interpreter lock; tested equal to torch.optim)"]
    torch_run = run_headless(train_network, _cfg(max_epochs=30, compiled=False))
    assert [e.text for e in torch_run if isinstance(e, Message)] == ["Engine: fast path (hand-fused updates, tested equal to torch.optim)"]
    assert events[-1].summary["train_loss"] == pytest.approx(torch_run[-1].summary["train_loss"], abs=1e-5)


BROKEN_NUMBA = "raise ImportError('numba needs an LLVM this platform lacks')\n"


# A numba that imports but whose compiler fails on the first call, as an LLVM that does
# not support the machine would.
FAILING_COMPILER = (
    "def njit(*args, **kwargs):\n"
    "    def wrap(fn):\n"
    "        def compiled(*a, **k):\n"
    "            raise RuntimeError('LLVM ERROR: this CPU is not supported')\n"
    "        return compiled\n"
    "    return wrap\n"
)


@pytest.mark.parametrize("fake, reason", [
    (BROKEN_NUMBA, "numba is not available (numba needs an LLVM this platform lacks)"),
    (FAILING_COMPILER, "the compiler failed: RuntimeError: LLVM ERROR: this CPU is not supported"),
], ids=["numba missing", "compiler fails"])
def test_without_a_working_numba_the_torch_path_trains_and_says_why(tmp_path, fake, reason):
    """A real process in which numba cannot be imported, or cannot compile (a fake numba
    first on its path)."""
    (tmp_path / "numba").mkdir()
    (tmp_path / "numba" / "__init__.py").write_text(fake)
    script = (
        "from core.network import compiled\n"
        "from core.engine import Message, run_headless\n"
        "from core.network.training import train_network\n"
        "from tests.core.network.test_model import _cfg\n"
        "assert not compiled.wait_ready(600)\n"
        "events = run_headless(train_network, _cfg(max_epochs=3))\n"
        "print(next(e.text for e in events if isinstance(e, Message)))\n"
        "print(events[-1].summary['epochs'])\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(root)]), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr
    engine, epochs = done.stdout.strip().splitlines()[-2:]
    assert engine == f"Engine: fast path (hand-fused updates, tested equal to torch.optim); no compiled loop: {reason}"
    assert epochs == "3"


def test_a_later_start_trusts_the_cache_stamp_and_skips_the_compiler_process(kernels):
    """The child process only checks a full cache (0.7 s); once a load has succeeded, the
    stamp lets the next start load straight from the cache, and a stamp that is gone
    (a changed kernels.py, numba or Python gives another name) sends it through the child."""
    script = (
        "import os\n"
        "from core.network import compiled\n"
        "os.environ.setdefault('NUMBA_CACHE_DIR', str(compiled.cache_dir()))\n"
        "assert compiled.wait_ready(600), compiled.status()\n"
        "print(compiled.loaded_through_child_process(), compiled.cache_stamp().exists())\n"
    )
    root = Path(__file__).resolve().parents[3]

    def start() -> str:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600, cwd=root,
                              env=dict(os.environ, PYTHONPATH=str(root)))
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    os.environ.setdefault("NUMBA_CACHE_DIR", str(compiled.cache_dir()))
    compiled.cache_stamp().unlink(missing_ok=True)
    assert start() == ["True", "True"]  # checked through the child, then stamped
    assert start() == ["False", "True"]  # straight from the cache


@pytest.mark.parametrize("which", ["binary", "binary_mse", "multiclass", "multiclass_mse", "regression"])
def test_the_compiled_evaluation_equals_the_torch_losses_and_accuracies(kernels, which):
    """The curves' numbers from the kernel's one pass equal evaluate_outputs on the same
    weights (trained a little, so that the outputs are not all alike)."""
    *_, data = {"binary": CIRCLE, "binary_mse": CIRCLE, "regression": PLANE}.get(which, BLOBS)
    spec = NetworkSpec(hidden=(5, 3), activations=("tanh", "relu"), task=data.task, n_classes=data.n_classes,
                       loss="mse" if which in ("binary_mse", "multiclass_mse", "regression") else "cross_entropy")
    fast = FastTrainer(build_network(spec, seed=4), spec, data, TrainSettings(lr=0.1), torch.Generator().manual_seed(9))
    for _ in range(5):
        fast.epoch()
    torch_numbers = fast.evaluate()
    fast.switch_to_compiled(kernels)
    compiled_numbers = fast.evaluate()
    assert compiled_numbers.keys() == torch_numbers.keys()
    assert len(compiled_numbers) == (2 if which == "regression" else 4)
    for key, value in torch_numbers.items():
        assert compiled_numbers[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
