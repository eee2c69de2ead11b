"""Shared test set-up: offscreen Qt, settings that never touch the user's own, and
torch threads as the app sets them (one core left for the GUI)."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from core.devices import configure_threads

configure_threads()


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DLLAB_SETTINGS", str(tmp_path / "settings.ini"))
    yield


@pytest.fixture
def one_torch_thread():
    """One torch thread whatever the machine: on 2 shared cores a second thread
    spin-waits and makes tiny batched steps ~20× slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
