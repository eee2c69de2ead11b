"""Headless rendering of an experiment: build its tab offscreen, run, export views."""

from __future__ import annotations

from pathlib import Path

from lab.experiments import Experiment
from lab.tabs import load_tab_class, tab_spec

__all__ = ["render_experiment"]


def render_experiment(exp: Experiment, out_dir: str | Path, *, device: str = "cpu", scale: float = 2.0) -> list[Path]:
    from core.devices import configure_threads, resolve
    from lab.app import create_application
    from lab.tabs.base import LabContext

    app = create_application()
    configure_threads(leave_for_gui=0)
    context = LabContext(device=resolve(device))
    tab = load_tab_class(tab_spec(exp.tab))(context)
    try:
        tab.resize(1400, 900)
        tab.apply_experiment_state(exp.state)
        tab.show()
        app.processEvents()
        written = tab.render_to(out_dir, scale=scale)
    finally:
        tab.shutdown()
        tab.close()
        tab.deleteLater()
        app.processEvents()
    return written
