"""The network builder's fast path compiled to machine code with numba, off the interpreter lock.

A Playground-sized network is all per-op overhead in torch (each small call takes and
releases the interpreter lock the GUI thread needs). Here one call trains a whole epoch:
forward, backprop and the optimizer update of every batch run in one compiled loop
(``nogil=True``), so the GUI thread keeps the interpreter while the worker trains.

The kernels work on :class:`~core.network.fast.FastTrainer`'s own buffers (the flat
``[W | b]`` parameter vector, its gradient, the optimizer state, the per-parameter
learning rates), seen as numpy arrays: switching between the compiled loop and the torch
ops of the fast path is only a change of which code steps them, between two epochs.

Compiling takes seconds, so it never happens on the way to the first epoch: the first
use after installation compiles in the background (:func:`request`) while the torch fast
path trains, and the machine code is cached on disk in the user's cache folder, from
where later starts load it in a fraction of a second. Where numba is missing or fails,
:func:`status` says why and the torch paths go on.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

__all__ = ["ACTIVATION_CODES", "status", "request", "wait_ready", "kernels", "cache_dir", "cache_stamp", "loaded_through_child_process"]

# Codes shared with the kernels (numba compiles one function for all of them, so a new
# combination of settings never waits for a compile).
ACTIVATION_CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "relu": 3, "leaky_relu": 4, "elu": 5, "selu": 6, "gelu": 7,
                    "silu": 8, "softplus": 9, "mish": 10, "hardtanh": 11}
# squared error on the class probabilities: the _MSE tasks
TASK_REGRESSION, TASK_BINARY, TASK_MULTICLASS, TASK_BINARY_MSE, TASK_MULTICLASS_MSE = 0, 1, 2, 3, 4
REG_NONE, REG_L1, REG_L2 = 0, 1, 2
OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADADELTA, OPT_ADAMAX, OPT_NADAM, OPT_RADAM = range(9)
OPTIMIZER_CODES = {"sgd": OPT_SGD, "momentum": OPT_SGD, "nesterov": OPT_SGD, "adam": OPT_ADAM, "adamw": OPT_ADAMW,
                   "adagrad": OPT_ADAGRAD, "rmsprop": OPT_RMSPROP, "adadelta": OPT_ADADELTA, "adamax": OPT_ADAMAX,
                   "nadam": OPT_NADAM, "radam": OPT_RADAM}


def cache_dir() -> Path:
    """Where compiled kernels are kept between runs: the platform's per-user cache folder."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dllab" / "numba"


class _Loader:
    """Loads (compiling once, or reading from the disk cache) the kernels on a thread of its own."""

    def __init__(self):
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.kernels = None
        self.error: str | None = None
        self.checked_in_child = False  # False: the cache's stamp said it was full

    def request(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._load, name="dllab-numba", daemon=True)
                self._thread.start()

    def _load(self) -> None:
        try:
            # Read by numba when it is imported: the cache goes to the user's cache folder,
            # not next to the installed sources (which may be read-only).
            os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir()))
            stamp = cache_stamp()
            if not stamp.exists():
                self.checked_in_child = True
                _compile_in_a_child_process()
            from core.network import kernels

            kernels.warm_up()  # from the disk cache the child filled: no compiling here
            self.kernels = kernels
            _write_stamp(stamp)
        except ImportError as exc:
            self.error = f"numba is not available ({exc})"
        except RuntimeError as exc:
            self.error = f"the compiler failed: {exc}"
        except Exception as exc:  # a compiler failure on this platform: the torch path runs
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.error = f"the compiler failed: {type(exc).__name__}{': ' + first[:200] if first else ''}"
        finally:
            self._done.set()

    def status(self) -> str:
        if self.kernels is not None:
            return "ready"
        if self.error is not None:
            return "unavailable"
        return "loading" if self._thread is not None else "idle"

    def wait(self, timeout: float | None) -> bool:
        self.request()
        self._done.wait(timeout)
        return self.kernels is not None


def cache_stamp() -> Path:
    """A file that says the disk cache holds these kernels, compiled by this numba for
    this Python on this machine, from this very source (path and text: numba keys its
    cache by the source file). A later start that finds it skips the child process
    (0.7 s of starting Python and importing numba only to find the cache full)."""
    source = Path(__file__).with_name("kernels.py")
    key = hashlib.sha256()
    for part in (str(source.resolve()), _numba_version(), sys.version, platform.machine()):
        key.update(part.encode() + b"\0")
    key.update(source.read_bytes())
    return Path(os.environ.get("NUMBA_CACHE_DIR") or cache_dir()) / f"dllab-kernels-{key.hexdigest()[:20]}.ready"


def _numba_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("numba")  # read from its metadata: no import of numba itself
    except PackageNotFoundError:
        return "none"


def _write_stamp(stamp: Path) -> None:
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:
        pass  # a read-only cache: the next start checks through the child process again


def _compile_in_a_child_process() -> None:
    """Fill the disk cache in another process (a no-op there when it is already filled).

    Compiling is seconds of pure-Python work in numba's compiler; in this process it
    would hold the interpreter lock the GUI thread needs. A compiler that crashes takes
    only the child with it.
    """
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds the core package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-c", "from core.network import kernels; kernels.warm_up()"],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else f"the compiler process ended with status {done.returncode}"
        if last.startswith(("ModuleNotFoundError", "ImportError")) and "numba" in last:
            raise ImportError(last.split(": ", 1)[-1], name="numba")
        raise RuntimeError(last)


_LOADER = _Loader()


def request() -> None:
    """Start loading the kernels in the background (at once; a second call does nothing)."""
    _LOADER.request()


def status() -> tuple[str, str | None]:
    """("ready" | "loading" | "idle" | "unavailable", the reason when unavailable)."""
    return _LOADER.status(), _LOADER.error


def wait_ready(timeout: float | None = None) -> bool:
    """Block until the kernels are loaded (True) or failed / timed out (False)."""
    return _LOADER.wait(timeout)


def loaded_through_child_process() -> bool:
    """Whether this process had to start the compiler child (first use, or a changed
    kernels.py, numba or Python) rather than trusting the disk cache's stamp."""
    return _LOADER.checked_in_child


def kernels():
    """The loaded kernel module, or None while it is loading or unavailable."""
    return _LOADER.kernels


def layer_offsets(shapes: list[tuple[int, int]]) -> np.ndarray:
    """Start of each layer's (out, in + 1) block in the flat parameter vector, plus the end."""
    offs = [0]
    for o, i in shapes:
        offs.append(offs[-1] + o * i)
    return np.asarray(offs, np.int64)
