"""The main window builds a lab when it is first shown; everything that reaches into a lab
(experiment files, the command line's --tab, tests) gets it built. Within a lab, the pages
not on show are built the same way: on first show, or when a preset or a save needs them."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from core.engine import RunControl
from lab.experiments import PRESETS_DIR, load_experiment
from lab.main_window import MainWindow
from lab.runner import JobState
from lab.settings import SettingsStore
from lab.tabs import TABS
from lab.tabs.base import LabTab
from lab.tabs.optimizer_race.network_race import BatchPage, NetPage
from widgets.lazy_page import LazyPage, LazyTabs

WAIT = 30000


def _open(qtbot, **kwargs) -> MainWindow:
    win = MainWindow(SettingsStore(), **kwargs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=WAIT)
    return win


@pytest.fixture
def window(qtbot):
    win = _open(qtbot, initial_tab="activations")
    yield win
    win.close()


def test_only_the_lab_on_show_is_built_at_start_up(window):
    assert [window.tab_widget.tabText(i) for i in range(window.tab_widget.count())] == [t.title for t in TABS]
    assert list(window.tab_instances) == ["activations"]
    assert window.current_tab() is window.tab_instances["activations"]
    others = [window.tab_widget.widget(i) for i in range(window.tab_widget.count()) if TABS[i].name != "activations"]
    assert not any(isinstance(w, LabTab) for w in others)


def test_selecting_a_lab_builds_it_and_binds_the_toolbar_to_it(window, qtbot):
    index = [t.name for t in TABS].index("initialization")
    window.tab_widget.setCurrentIndex(index)
    tab = window.current_tab()
    assert isinstance(tab, LabTab) and tab.name == "initialization"
    assert window.tab_widget.widget(index) is tab and window.tab_widget.tabText(index) == "Initialization"
    assert "initialization" in window.tab_instances
    assert window.prefs.last_tab == "initialization"
    qtbot.waitUntil(lambda: window.job_state_label.text() == tab.runner.state.label, timeout=WAIT)


def test_reaching_into_a_lab_builds_it_without_changing_the_one_on_show(window):
    images = window.tab("images")
    assert isinstance(images, LabTab) and images.name == "images"
    assert window.tab("images") is images and window.tab_instances["images"] is images
    assert window.current_tab().name == "activations"
    with pytest.raises(KeyError):
        window.tab_instances["no_such_lab"]
    assert window.tab("no_such_lab") is None


def test_opening_an_experiment_for_a_lab_not_built_yet_builds_and_shows_it(window):
    assert "optimizers" not in window.tab_instances
    exp = next(iter(sorted((PRESETS_DIR / "optimizers").glob("*.json"))))
    assert window.open_experiment(exp)
    assert window.current_tab() is window.tab_instances["optimizers"]


def test_the_eager_build_builds_every_lab(qtbot):
    win = _open(qtbot, lazy_tabs=False)
    try:
        assert sorted(win.tab_instances) == sorted(t.name for t in TABS)
        assert not any(isinstance(win.tab_widget.widget(i), QLabel) for i in range(win.tab_widget.count()))
    finally:
        win.close()


def test_closing_with_jobs_running_in_two_labs_ends_every_worker(qtbot):
    win = _open(qtbot, initial_tab="activations")
    tab = win.tab_instances["activations"]
    tab.show_page("dead_relu")
    tab.page().fields["epochs"].set_value(5000)
    tab.page().controls.play_button.click()
    net = win.tab("network")
    qtbot.waitUntil(lambda: tab.runner.state == JobState.RUNNING and net.runner.is_active, timeout=WAIT)
    win.close()
    assert tab.runner.thread_count() == 0 and net.runner.thread_count() == 0


# -- a lab's own pages: built when first shown or first needed ---------------------------------

# Each lab with lazy pages, and the name of its tab widget of pages.
LAZY_PAGE_TABS = {
    "optimizers": "pages",
    "bias_variance": "page_tabs",
    "activations": "page_tabs",
    "augmentation": "views",
    "initialization": "pages",
}


def test_a_lazy_page_is_made_once_when_first_needed(qtbot):
    made = []

    def make():
        made.append(QLabel("content"))
        return made[-1]

    page = LazyPage(make)
    qtbot.addWidget(page)
    heard = []
    page.built.connect(heard.append)
    assert not page.is_built and page.content is None and made == []
    content = page.ensure_built()
    assert page.ensure_built() is content and page.content is content and page.is_built
    assert made == [content] and heard == [content] and content.parent() is page


def test_selecting_a_lab_builds_only_the_page_on_show(window, qtbot):
    for name, attr in LAZY_PAGE_TABS.items():
        window.tab_widget.setCurrentIndex([t.name for t in TABS].index(name))
        tab = window.current_tab()
        pages: LazyTabs = getattr(tab, attr)
        qtbot.waitUntil(pages.isVisible, timeout=WAIT)
        lazy = [i for i in range(pages.count()) if isinstance(pages.page_at(i), LazyPage)]
        assert lazy, f"{name} has no lazy page"
        unbuilt = [i for i in lazy if i != pages.currentIndex()]
        assert unbuilt and not any(pages.is_built(i) for i in unbuilt), name
        if pages.currentIndex() in lazy:
            assert pages.is_built(pages.currentIndex()), f"{name}: the page on show is not built"
        # A click on the page's tab makes it, before it is painted, and shows it.
        i = unbuilt[0]
        bar = pages.tabBar()
        qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(i).center())
        assert pages.currentIndex() == i and pages.is_built(i)
        content = pages.widget(i)
        assert content.isVisible() and pages.indexOf(content) == i and pages.currentWidget() is content


def test_opening_a_preset_for_a_page_not_built_builds_it_and_shows_it(window):
    tab = window.tab("optimizers")
    assert not any(tab.pages.is_built(i) for i in range(tab.pages.count()))
    exp = load_experiment(PRESETS_DIR / "optimizers" / "network_race.json")
    assert window.open_experiment(PRESETS_DIR / "optimizers" / "network_race.json")
    assert window.current_tab() is tab and tab.current_page() == "network"
    assert tab.pages.is_built(1) and tab.pages.currentWidget() is tab.net_page and tab.net_page.isVisible()
    shown = tab.net_page.state()
    assert {k: shown[k] for k in exp.state["network"]} == exp.state["network"]
    assert not tab.pages.is_built(2)  # a page the file does not speak of stays as it was


def test_a_run_on_the_training_page_before_it_is_made_is_shown_once_it_is(window, qtbot):
    tab = window.tab("initialization")
    assert not tab.pages.is_built(1)
    assert window.open_experiment(PRESETS_DIR / "initialization" / "zero_init_symmetry.json")
    # The preset trains at once; its curves and symmetry check are on the page it opened on.
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=WAIT)
    training = tab.pages.currentWidget()
    assert training is tab.training and training.isVisible()
    assert "Symmetry check" in training.symmetry.text()
    assert len(training.loss.names()) == 3

    # A headless run while the page was never made: replayed into it when it is made.
    other = MainWindow(SettingsStore(), initial_tab="activations")
    qtbot.addWidget(other)
    other.show()
    qtbot.waitUntil(lambda: other.stack.currentWidget() is other.tab_widget, timeout=WAIT)
    try:
        init = other.tab("initialization")
        state = dict(load_experiment(PRESETS_DIR / "initialization" / "zero_init_symmetry.json").state, page="signals")
        init.apply_experiment_state(state)
        job, cfg = init.current_job()
        for ev in job(cfg, RunControl()):  # the tab's own handler, as the runner would call it
            init.on_event(ev)
        assert not init.pages.is_built(1)
        assert sorted(init.training.loss.names()) == sorted(training.loss.names())
        assert "Symmetry check" in init.training.symmetry.text()
    finally:
        other.close()


def test_saving_an_experiment_includes_the_pages_never_shown(window):
    tab = window.tab("optimizers")
    state = tab.experiment_state()
    assert set(state) == {"page", "surface", "network", "batch"}
    assert state["batch"] == BatchPage().state() and state["network"] == NetPage().state()
    acts = window.tab("activations")
    saved = acts.experiment_state()
    assert set(saved) == {"page"} | {p.key for p in acts.pages}
    aug = window.tab("augmentation")
    assert not aug.views.is_built(2) and aug.experiment_state()["stats_source"] == "train"
