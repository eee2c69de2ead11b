"""Each lab's main job on ``cuda`` gives the numbers it gives on the CPU (float32
reductions in another order: a tolerance per lab), the device list names each GPU with
its memory, and running out of GPU memory is reported as such, ready to rerun on the CPU."""

import json
import math

import numpy as np
import pytest
import torch

from core.activations.experiments import DepthConfig, gradients_through_depth
from core.bias_variance.config import BiasVarConfig
from core.bias_variance.job import biasvar_job
from core.datasets.images import DataConfig
from core.devices import available_memory, is_out_of_memory, list_devices
from core.engine import Finished, Snapshot, run_headless
from core.images.models import preset_layers
from core.images.training import ImageTrainConfig, train_images
from core.initialization.schemes import SchemeChoice
from core.initialization.stats import NetworkSpec as InitNetworkSpec
from core.initialization.stats import StatsConfig, layer_statistics
from core.network.state import config_from_state
from core.network.training import train_network
from core.optimizer_race.network_race import NetRaceConfig, net_race_job
from core.optimizer_race.surface_race import RaceConfig, race_job
from lab.experiments import find_preset, load_experiment

SMALL_CNN = json.dumps(preset_layers("small_cnn"))

# Timings differ by design; everything else must agree.
SKIP_KEYS = ("time", "per_s", "speed", "seconds", "_ms", "ns_per", "device", "cpu_s", "wall")


def numbers(value, prefix=""):
    """Every number in an event payload, by its path in it (timings left out)."""
    if any(k in prefix for k in SKIP_KEYS):
        return
    if isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(v, f"{prefix}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from numbers(v, f"{prefix}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fiub":
        yield prefix, value.astype(np.float64)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield prefix, np.float64(value)


def final_numbers(job, cfg) -> dict[str, np.ndarray]:
    events = run_headless(job, cfg)
    assert isinstance(events[-1], Finished), events[-1]
    last = {}
    for e in events:
        if isinstance(e, Snapshot):
            last[e.kind] = e.data
    # Streamed series come in chunks cut by time, so only the last row of each (the final
    # step, in the last chunk whatever the cut) is compared; summaries whole.
    out = {k: (v[-1] if v.ndim and len(v) else v) for k, v in numbers(last, "snapshot")}
    out.update(numbers(events[-1].summary, "summary"))
    return out


def assert_same(cpu: dict, gpu: dict, rtol: float, atol: float) -> None:
    assert set(cpu) == set(gpu)
    for key in cpu:
        a, b = cpu[key], gpu[key]
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, equal_nan=True, err_msg=key)


def network_preset_config(device):
    return config_from_state(load_experiment(find_preset("network/xor_product_feature")).state, max_epochs=30, device=device)


CASES = {
    "network": (lambda d: (train_network, network_preset_config(d)), 1e-3, 1e-4),
    "images": (lambda d: (train_images, ImageTrainConfig(data=DataConfig(n_per_class=60, size=16), layers_json=SMALL_CNN, epochs=1,
                                                         max_steps=20, batch_size=32, seed=0, device=d)), 5e-2, 5e-3),
    "optimizer_race": (lambda d: (race_job, RaceConfig(surface="rosenbrock", steps=200, device=d)), 1e-6, 1e-8),
    "network_race": (lambda d: (net_race_job, NetRaceConfig(epochs=5, n_points=100, device=d)), 1e-3, 1e-4),
    "activations": (lambda d: (gradients_through_depth, DepthConfig(depth=8, width=32, trials=3, device=d)), 1e-3, 1e-6),
    "initialization": (lambda d: (layer_statistics, StatsConfig(InitNetworkSpec((64,) * 6, "tanh"), (SchemeChoice.of("xavier_normal"),),
                                                                input_dim=64, batch=256, device=d)), 1e-3, 1e-5),
    "bias_variance": (lambda d: (biasvar_job, BiasVarConfig(analysis="fits", family="poly", degree=3, m=50, device=d)), 1e-6, 1e-8),
}


@pytest.mark.parametrize("lab", sorted(CASES))
def test_main_job_on_cuda_matches_the_cpu(lab):
    make, rtol, atol = CASES[lab]
    cpu = final_numbers(*make("cpu"))
    gpu = final_numbers(*make("cuda:0"))
    assert_same(cpu, gpu, rtol, atol)


def test_the_device_list_names_every_gpu_with_its_memory():
    listed = {d.id: d for d in list_devices()}
    for i in range(torch.cuda.device_count()):
        info = listed[f"cuda:{i}"]
        props = torch.cuda.get_device_properties(i)
        assert info.name == props.name and info.total_memory == props.total_memory
        assert 0 < info.free_memory <= info.total_memory
    assert 0 < available_memory("cuda:0") <= torch.cuda.get_device_properties(0).total_memory


def test_running_out_of_gpu_memory_is_reported_as_out_of_memory():
    free = available_memory("cuda:0")
    with pytest.raises(RuntimeError) as err:
        torch.empty(int(free * 2) // 4 + 1, dtype=torch.float32, device="cuda:0")
    assert is_out_of_memory(err.value)
    torch.cuda.empty_cache()


def test_an_image_network_too_large_for_the_gpu_is_refused_with_the_estimate():
    free_gib = available_memory("cuda:0") / 2**30
    width = int(math.sqrt(free_gib * 2**30 / 16)) + 1  # one Linear(width, width) with Adam beyond free memory
    layers = '[{"type": "flatten"}, {"type": "linear", "units": %d}, {"type": "linear", "units": %d}]' % (width, width)
    with pytest.raises(ValueError, match="needs about .* GiB to train"):
        run_headless(train_images, ImageTrainConfig(layers_json=layers, epochs=1, device="cuda:0"))
