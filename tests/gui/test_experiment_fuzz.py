"""Every lab takes any experiment state all or nothing: seeded mutations of its presets and
of its own state (wrong types, NaN, inf, huge and negative numbers, empty and huge text,
missing and extra keys, lists too long or too short, nested garbage) either apply, and the
state then round-trips, or raise ValueError with the tab exactly as it was, its message
from the tab's own checks (not LabTab's catch-all). Any other exception fails. The long run is tests/bench/bench_fuzz_experiments.py."""

import random

import pytest

from lab.experiments import list_presets
from lab.tabs import TABS
from tests.experiment_mutations import UNNAMED, mutate, try_state

CASES_PER_TAB = 40


@pytest.mark.parametrize("name", [t.name for t in TABS])
def test_mutated_experiments_apply_whole_or_change_nothing(name, make_tab):
    tab = make_tab(name, size=(1280, 720))
    seeds = [exp.state for exp in list_presets(name)] + [tab.experiment_state()]
    rng = random.Random(f"fuzz-{name}")
    kinds = {"applied": 0, "refused": 0}
    for i in range(CASES_PER_TAB):
        outcome = try_state(tab, mutate(seeds[i % len(seeds)], rng))
        assert outcome.kind in kinds, f"case {i}: {outcome.kind}: {outcome.detail}"
        assert UNNAMED not in outcome.detail, f"case {i}: a check the tab lacks: {outcome.detail}"
        kinds[outcome.kind] += 1
    assert kinds["refused"] > 0, "no mutation was refused: the mutations are not reaching the checks"


def test_a_refused_experiment_names_the_lab_and_the_field(make_tab):
    tab = make_tab("optimizers")
    before = tab.experiment_state()
    state = list_presets("optimizers")[0].state
    bad = {**state, "surface": {**state["surface"], "racers": [dict(r) for r in state["surface"]["racers"]]}}
    bad["surface"]["racers"][1]["lr"] = "abc"
    with pytest.raises(ValueError) as refused:
        tab.apply_experiment_state(bad)
    assert str(refused.value) == "Optimizer race: 'surface' page: racer 2 learning rate must be a positive number, got 'abc'"
    assert tab.experiment_state() == before


# Each of these once escaped as TypeError or OverflowError, or changed the tab before failing.
BAD_FILES = {
    "convolution": {"op": "conv2d", "stride": 2**63},
    "initialization": {"scheme_params": {"constant": "circle"}},
    "activations": {"page": "curves", "curves": {"functions": [{}, "tanh"]}},
}


def write_experiment(path, tab, state):
    import json

    path.write_text(json.dumps({"format": "dllab-experiment", "version": 1, "tab": tab, "state": state}))
    return path


def test_the_main_window_shows_a_refused_file_and_keeps_the_tab(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from lab.main_window import MainWindow
    from lab.settings import SettingsStore

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    try:
        for name, state in BAD_FILES.items():
            tab = win.tab_instances[name]
            before = tab.experiment_state()
            assert not win.open_experiment(write_experiment(tmp_path / f"{name}.json", name, state))
            assert warnings[-1].startswith(f"{tab.title}: "), warnings[-1]
            assert tab.experiment_state() == before
    finally:
        win.close()


def test_dllab_render_refuses_a_bad_file_with_its_message(qapp, tmp_path, capsys):
    from lab.cli import render

    path = write_experiment(tmp_path / "bad.json", "convolution", BAD_FILES["convolution"])
    assert render(str(path), str(tmp_path / "out")) == 2
    assert "dllab render: Convolution: 'stride' must be a whole number from -3 to 8" in capsys.readouterr().err


def test_a_check_a_tab_lacks_still_reads_as_a_refusal_naming_the_lab(qapp):
    from lab.tabs.base import LabTab

    class Careless(LabTab):
        title = "Careless lab"

        def apply_experiment_state(self, state):
            if state["size"] > 3:  # '>' of text and a number: TypeError
                raise ValueError("size must be at most 3")

    tab = Careless()
    try:
        with pytest.raises(ValueError, match=r"^Careless lab: size must be at most 3$"):
            tab.apply_experiment_state({"size": 4})
        with pytest.raises(ValueError, match=r"^Careless lab: a value in the experiment is of the wrong kind or size"):
            tab.apply_experiment_state({"size": "big"})
        with pytest.raises(ValueError, match=r"^Careless lab: .*'size'"):
            tab.apply_experiment_state({})  # KeyError
    finally:
        tab.shutdown()
        tab.deleteLater()
