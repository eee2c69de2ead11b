import pytest


@pytest.fixture(scope="session", autouse=True)
def _garbage_collected_on_the_gui_thread(qapp):
    """As the app does (lab.app.collect_garbage_on_the_gui_thread): a collection in a
    worker thread that meets widgets of an earlier test deadlocks with the GUI thread."""
    from lab.app import collect_garbage_on_the_gui_thread

    collect_garbage_on_the_gui_thread(qapp)
    yield


@pytest.fixture(autouse=True)
def _fresh_theme():
    """Each GUI test starts from the default look (the theme is one per application)."""
    from widgets.theme import Style, theme

    yield
    t = theme()
    if t.style != Style():
        t.set_style(dark=False, font_scale=1.0, presentation=False)


class TabOpener:
    """Opens lab tabs by their registry name, as the main window does, and closes every
    tab it opened: jobs stopped and joined, then the widget closed and deleted."""

    def __init__(self):
        self.opened = []

    def __call__(self, name: str, *, device: str = "cpu", size: tuple[int, int] = (1300, 850), show: bool = True):
        from core.devices import warm_up
        from lab.tabs import load_tab_class, tab_spec
        from lab.tabs.base import LabContext

        warm_up()  # torch's one-off start-up costs, outside the test's timeouts
        tab = load_tab_class(tab_spec(name))(LabContext(device))
        self.opened.append(tab)
        tab.resize(*size)
        if show:
            tab.show()
        return tab

    def close_all(self) -> None:
        while self.opened:
            tab = self.opened.pop()
            tab.shutdown()
            tab.close()
            tab.deleteLater()


@pytest.fixture
def make_tab(qapp):
    """``make_tab("images")``: a shown tab of that lab on the CPU, closed after the test."""
    opener = TabOpener()
    yield opener
    opener.close_all()


@pytest.fixture(scope="module")
def make_module_tab(qapp):
    """Like :func:`make_tab`, for a tab that the tests of one module share (closed after them)."""
    opener = TabOpener()
    yield opener
    opener.close_all()
