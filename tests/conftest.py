"""Shared test set-up: offscreen Qt, and settings that never touch the user's own."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def _private_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DLLAB_SETTINGS", str(tmp_path / "settings.ini"))
    yield
