"""No lab leaves a window of its own behind.

Qt shows a widget added to a shown layout later, by a queued call; a widget taken out
with ``setParent(None)`` before that call ran became a frameless top-level window at
(2, 2): on a lecturer's screen a flash of a stray racer row or histogram column, in the
tests a window over the next test's plot that swallowed its mouse moves. The steps
below run with no turn of the event loop between them, as a preset loaded from a
file does, and only then let the queued calls run."""

import pytest
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from core.optimizers import OPTIMIZERS
from lab.experiments import list_presets
from lab.tabs import TABS
from lab.tabs.initialization.views import SignalsView
from lab.tabs.optimizer_race.racers import RacerList, racer_values


def visible_windows() -> set:
    QApplication.processEvents()  # the queued shows run here
    return {w for w in QApplication.topLevelWidgets() if w.isVisible()}


def described(widgets) -> list[str]:
    return sorted(f"{type(w).__name__} at ({w.x()}, {w.y()}) {w.width()}×{w.height()}" for w in widgets)


@pytest.fixture
def windows_before(qapp):
    """The windows already open (an earlier test's are its own to answer for)."""
    return visible_windows()


@pytest.mark.parametrize("name", [t.name for t in TABS])
def test_a_lab_taking_every_preset_running_and_exporting_opens_no_window(name, windows_before, make_tab, tmp_path):
    tab = make_tab(name, size=(1280, 800))

    def strays() -> list[str]:
        return described(visible_windows() - windows_before - {tab})

    assert strays() == [], "on opening"
    for exp in list_presets(name):  # as the smoke tests do: racers rebuilt, scheme columns changed, …
        tab.apply_experiment_state(exp.state)
        tab.apply_experiment_state(tab.experiment_state())
    assert strays() == [], "after its presets"
    with pytest.raises(ValueError):
        tab.apply_experiment_state("not a dict")
    tab.apply_experiment_state(list_presets(name)[0].state)
    tab.run_to_end(max_events=5)
    tab.export_views(tmp_path)
    assert strays() == [], "after a run and an export"


def shown_in_a_window(qtbot, widget: QWidget) -> QWidget:
    window = QWidget()
    qtbot.addWidget(window)
    QVBoxLayout(window).addWidget(widget)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_racers_added_rebuilt_and_removed_in_one_go_open_no_window(qtbot, windows_before):
    racers = RacerList([racer_values("sgd")])
    window = shown_in_a_window(qtbot, racers)
    kinds = list(OPTIMIZERS)
    for kind in kinds:
        racers.add(racer_values(kind))  # each row's show is queued...
    for row in racers.rows()[1:4]:
        row.kind.setCurrentIndex((row.kind.currentIndex() + 1) % len(kinds))  # ...its hyper fields rebuilt...
    racers.rows()[-1].remove_button.click()  # ...rows removed one by one...
    racers.set_values([racer_values("adam"), racer_values("rmsprop")])  # ...and all but two at once
    assert described(visible_windows() - windows_before - {window}) == []
    assert [r.value()["kind"] for r in racers.rows()] == ["adam", "rmsprop"]
    assert all(r.isVisible() for r in racers.rows())


def test_scheme_columns_added_and_dropped_in_one_go_open_no_window(qtbot, windows_before):
    view = SignalsView()
    window = shown_in_a_window(qtbot, view)
    view.set_schemes(["small_normal", "large_normal", "xavier_normal"])
    view.set_schemes(["xavier_normal", "small_normal"])  # re-adding queues another show
    view.set_schemes(["small_normal"])
    assert described(visible_windows() - windows_before - {window}) == []
    assert list(view.columns) == ["small_normal"] and view.columns["small_normal"].isVisible()
    assert not view.empty.isVisible()
