"""The same smoke tests for every registered lab: it opens, takes each of its presets
(and gives the same state back), runs a preset for a few events, exports, and refuses
a bad experiment without changing anything."""

import pytest
from PySide6.QtGui import QImage

from lab.experiments import list_presets
from lab.tabs import TABS
from lab.tabs.base import LabTab
from widgets.export import export_widget_png


@pytest.fixture(params=[t.name for t in TABS])
def tab(request, make_tab):
    return make_tab(request.param, size=(1280, 800))


def test_tab_is_a_lab_tab_with_a_title(tab):
    assert isinstance(tab, LabTab)
    assert tab.name and tab.title


def test_every_preset_applies_and_round_trips(tab):
    presets = list_presets(tab.name)
    assert presets, f"the {tab.name} lab has no presets in assets/presets/{tab.name}/"
    for exp in presets:
        tab.apply_experiment_state(exp.state)
        state = tab.experiment_state()
        tab.apply_experiment_state(state)
        assert tab.experiment_state() == state, exp.path.name


def test_a_bad_experiment_is_refused_and_changes_nothing(tab):
    before = tab.experiment_state()
    # Every value of the right name but of the wrong kind.
    wrong_kind = {k: ({"x": 1} if isinstance(v, str) else "###") for k, v in before.items()}
    for bad in (wrong_kind, "not a dict"):
        with pytest.raises(ValueError):
            tab.apply_experiment_state(bad)
        assert tab.experiment_state() == before


def test_runs_its_first_preset_and_exports(tab, tmp_path):
    exp = list_presets(tab.name)[0]
    tab.apply_experiment_state(exp.state)
    tab.run_to_end(max_events=5)
    written = tab.export_views(tmp_path)
    assert written
    for p in written:
        assert p.exists() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert not QImage(str(p)).isNull()
    png = export_widget_png(tab, tmp_path / "whole.png", 2)
    assert QImage(str(png)).width() == 2 * tab.width()
