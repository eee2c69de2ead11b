import os
from types import SimpleNamespace

import pytest
import torch

from core import devices


def test_cpu_is_always_listed_first_and_works():
    listed = devices.list_devices()
    assert listed[0].id == "cpu" and listed[0].kind == "cpu"
    assert devices.check_device("cpu") == (True, "ok")


def test_auto_resolves_to_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert devices.resolve("auto") == "cpu"
    assert devices.resolve("") == "cpu"


def test_unknown_device_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="not available.*cpu"):
        devices.resolve("cuda:7")


@pytest.fixture
def two_fake_gpus(monkeypatch):
    """What torch reports on a machine with two CUDA devices (none here)."""
    props = [SimpleNamespace(name="NVIDIA Fake 80GB", total_memory=80 * 2**30), SimpleNamespace(name="NVIDIA Fake 24GB", total_memory=24 * 2**30)]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: props[i])
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (props[i].total_memory // 2, props[i].total_memory))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cuda_devices_are_listed_with_name_and_memory(two_fake_gpus):
    listed = devices.list_devices()
    assert [d.id for d in listed] == ["cpu", "cuda:0", "cuda:1"]
    gpu = listed[1]
    assert gpu.name == "NVIDIA Fake 80GB"
    assert gpu.total_memory == 80 * 2**30 and gpu.free_memory == 40 * 2**30
    assert "80.0 GiB" in gpu.label and "40.0 GiB free" in gpu.label
    assert devices.resolve("auto") == "cuda:0"
    assert devices.resolve("cuda") == "cuda:0"
    assert devices.resolve("cuda:1") == "cuda:1"


def test_a_device_whose_memory_query_fails_is_still_listed(two_fake_gpus, monkeypatch):
    def broken(i):
        raise RuntimeError("busy")

    monkeypatch.setattr(torch.cuda, "mem_get_info", broken)
    gpu = devices.list_devices()[1]
    assert gpu.free_memory is None and gpu.total_memory == 80 * 2**30


def test_mps_is_listed_and_chosen_by_auto(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert [d.id for d in devices.list_devices()] == ["cpu", "mps"]
    assert devices.resolve("auto") == "mps"


def test_check_device_reports_a_device_that_fails(two_fake_gpus):
    ok, why = devices.check_device("cuda:0")  # listed, but torch cannot really use it here
    assert not ok and why.startswith("cuda:0")


def test_accelerator_failures_are_recognised():
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert devices.is_accelerator_failure(oom, "cuda:0")
    assert not devices.is_accelerator_failure(oom, "cpu")
    assert not devices.is_accelerator_failure(ValueError("bad shape"), "cuda:0")
    assert "Lower the batch size" in devices.describe_failure(oom, "cuda:0")


def test_thread_count_leaves_a_core_for_the_gui():
    before = torch.get_num_threads()
    try:
        n = devices.configure_threads()
        assert n == max(1, (os.cpu_count() or 1) - 1) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_the_cpu_allocators_failure_counts_as_out_of_memory():
    with pytest.raises(RuntimeError) as info:
        torch.empty(10**14)  # 400 TB: refused at once by the allocator
    assert devices.is_out_of_memory(info.value)
    assert not devices.is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
