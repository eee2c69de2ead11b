"""What torch can compute on, and the one place in the code that names a device.

Everything else receives a device string (``"cpu"``, ``"cuda:0"``, ``"mps"``) in its
config and calls :func:`torch_device` to turn it into a ``torch.device``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = [
    "DeviceInfo",
    "list_devices",
    "resolve",
    "torch_device",
    "check_device",
    "configure_threads",
    "warm_up",
    "is_accelerator_failure",
    "is_out_of_memory",
    "describe_failure",
    "available_memory",
]


@dataclass(frozen=True)
class DeviceInfo:
    id: str  # "cpu", "cuda:0", "mps"
    name: str
    kind: str  # "cpu" | "cuda" | "mps"
    total_memory: int | None = None  # bytes
    free_memory: int | None = None

    @property
    def label(self) -> str:
        if self.kind == "cuda" and self.total_memory:
            free = f", {self.free_memory / 2**30:.1f} GiB free" if self.free_memory is not None else ""
            return f"{self.id} · {self.name} ({self.total_memory / 2**30:.1f} GiB{free})"
        return f"{self.id} · {self.name}"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "CPU"


def list_devices() -> list[DeviceInfo]:
    """CPU first, then each CUDA device, then MPS where present."""
    devices = [DeviceInfo("cpu", f"{_cpu_name()} ({os.cpu_count()} cores)", "cpu")]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            try:
                free, total = torch.cuda.mem_get_info(i)
            except Exception:  # a busy or broken device still gets listed
                free, total = None, props.total_memory
            devices.append(DeviceInfo(f"cuda:{i}", props.name, "cuda", total, free))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "Apple Metal (MPS)", "mps"))
    return devices


def resolve(device: str = "auto") -> str:
    """Turn ``"auto"`` into the best device present; validate any other name."""
    device = (device or "auto").strip().lower()
    available = [d.id for d in list_devices()]
    if device == "auto":
        for prefix in ("cuda", "mps"):
            for d in available:
                if d.startswith(prefix):
                    return d
        return "cpu"
    if device == "cuda":
        device = "cuda:0"
    if device not in available:
        raise ValueError(
            f"Device {device!r} is not available here; choose one of: {', '.join(['auto', *available])}"
        )
    return device


def torch_device(device: str) -> torch.device:
    return torch.device(resolve(device))


def check_device(device: str) -> tuple[bool, str]:
    """Run a tiny matmul and backward on the device to be sure it really works."""
    try:
        dev = torch_device(device)
        a = torch.randn(16, 16, device=dev, requires_grad=True)
        (a @ a).sum().backward()
        if a.grad is None or not torch.isfinite(a.grad).all():
            return False, f"{device}: a test computation gave no finite gradient"
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return True, "ok"
    except Exception as exc:  # any failure means: do not use this device
        return False, f"{device}: {type(exc).__name__}: {exc}"


def configure_threads(leave_for_gui: int = 1) -> int:
    """Use every core but one for torch so that the GUI thread keeps a core."""
    n = max(1, (os.cpu_count() or 1) - leave_for_gui)
    torch.set_num_threads(n)
    return n


def warm_up() -> None:
    """Pay torch's one-off start-up costs before the first job, not inside it.

    Building the first torch.optim optimizer imports torch._dynamo (≈3 s here); a job
    doing that could neither show progress nor stop promptly meanwhile.
    """
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def is_accelerator_failure(exc: BaseException, device: str) -> bool:
    """Whether a job's failure came from the accelerator, so a CPU rerun may help."""
    if resolve_kind(device) == "cpu":
        return False
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = f"{type(exc).__name__}: {exc}".lower()
    markers = ("out of memory", "cuda", "cudnn", "cublas", "mps", "not implemented for", "device-side")
    return any(m in text for m in markers)


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether an exception is an allocator refusing memory, on any device: torch raises
    OutOfMemoryError on a GPU and a plain RuntimeError on the CPU."""
    text = str(exc).lower()
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in text or "can't allocate memory" in text


def describe_failure(exc: BaseException, device: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "out of memory" in text.lower():
        return f"Out of memory on {device}. Lower the batch size or the model size, or run on the CPU."
    return f"{type(exc).__name__} on {device}: {text}"


def resolve_kind(device: str) -> str:
    return (device or "cpu").split(":")[0].lower()


def available_memory(device: str) -> int | None:
    """Bytes a job may still allocate on ``device`` (None where torch cannot tell).

    CUDA: the driver's free memory. CPU: the kernel's estimate of memory available without
    swapping (Linux ``MemAvailable``), else free physical pages. MPS shares the CPU's memory."""
    kind = resolve_kind(device)
    if kind == "cuda" and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch_device(device))
        return int(free)
    if kind in ("cpu", "mps"):
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                for line in f:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None
