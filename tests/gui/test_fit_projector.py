"""Every tab and sub-page fits a projector's 1280×720, in normal and presentation mode:
no visible widget sticks out of its parent (scroll areas excepted), no two overlap, and
the window does not ask for more than the screen has. One window per mode, every tab walked."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QScrollArea,
    QTabBar,
    QTableView,
    QTabWidget,
    QWidget,
)

from lab.main_window import MainWindow
from lab.settings import SettingsStore
from widgets.theme import theme

SCREEN = (1280, 720)
MIN_PLOT_HEIGHT = 120  # px: a plot on a projector, title, axes and curves together
CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QAbstractSlider)
MAX_CONTENT = (1280, 680)  # what 1280×720 leaves for the window once the title bar and taskbar are drawn
MAX_NETWORK = [32] * 8  # the network builder's largest network: 8 hidden layers of 32


def describe(w: QWidget) -> str:
    """A widget as a person finds it: class, object name, text, and where it sits."""
    def one(x: QWidget) -> str:
        label = ""
        for attr in ("text", "title", "placeholderText"):
            get = getattr(x, attr, None)
            if callable(get):
                try:
                    value = get()
                except TypeError:
                    continue
                if isinstance(value, str) and value:
                    label = f" {value[:40]!r}"
                    break
        name = f"#{x.objectName()}" if x.objectName() else ""
        return f"{type(x).__name__}{name}{label}"

    chain = [one(w)]
    p = w.parentWidget()
    while p is not None and len(chain) < 4:
        chain.append(one(p))
        p = p.parentWidget()
    return " in ".join(chain)


def _is_scrolled(parent: QWidget) -> bool:
    """Children of a scroll area's viewport may lie outside it: that is what scrolling is."""
    return parent.objectName() == "qt_scrollarea_viewport" or isinstance(parent, QAbstractScrollArea) and parent.viewport() is parent


def layout_problems(root: QWidget, where: str) -> list[str]:
    problems = []
    stack = [root]
    while stack:
        parent = stack.pop()
        children = [c for c in parent.findChildren(QWidget, options=Qt.FindDirectChildrenOnly) if c.isVisible() and not c.isWindow()]
        stack.extend(children)
        if isinstance(parent, QScrollArea) and parent.widget() is not None and parent.widget().isVisible():
            content, view = parent.widget(), parent.viewport()
            for axis, policy, need, have in (("wide", parent.horizontalScrollBarPolicy(), content.width(), view.width()),
                                             ("tall", parent.verticalScrollBarPolicy(), content.height(), view.height())):
                if policy == Qt.ScrollBarAlwaysOff and need > have:
                    problems.append(f"{where}: {describe(content)} is {need} px {axis}, its scroll area shows {have} "
                                    "and cannot scroll that way: the rest is cut off")
        if _is_scrolled(parent):
            continue
        inside = parent.rect()
        for c in children:
            if not inside.contains(c.geometry()):
                g = c.geometry()
                problems.append(f"{where}: {describe(c)} at {g.x()},{g.y()} {g.width()}×{g.height()} "
                                f"sticks out of its parent ({inside.width()}×{inside.height()})")
        if isinstance(parent, QTabBar):
            continue  # Qt's own scroll arrows for tabs that do not fit touch by a pixel, by design
        laid_out = [c for c in children if not c.property("overlay")]  # an overlay covers its siblings by design
        for i, a in enumerate(laid_out):
            for b in laid_out[i + 1:]:
                overlap = a.geometry().intersected(b.geometry())
                if overlap.width() > 0 and overlap.height() > 0:
                    problems.append(f"{where}: {describe(a)} overlaps {describe(b)} by {overlap.width()}×{overlap.height()}")
    return problems


def pages(tab: QWidget):
    """Each sub-page of the tab, made current in turn: (name, page)."""
    books = [b for b in tab.findChildren(QTabWidget)]
    yield "", tab
    for book in books:
        before = book.currentIndex()
        for i in range(book.count()):
            book.setCurrentIndex(i)
            yield book.tabText(i), book.widget(i)
        book.setCurrentIndex(before)


@pytest.fixture(params=[False, True], ids=["normal", "presentation"])
def window(request, qtbot):
    theme().set_style(presentation=request.param)
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=60000)
    win.resize(*SCREEN)
    yield win
    win.close()


def settle(qtbot) -> None:
    """Let every posted layout request (a page just shown, a widget just resized) run: a
    layout is applied one request at a time, each level posting the next one."""
    from PySide6.QtWidgets import QApplication

    for _ in range(10):
        QApplication.sendPostedEvents()
        QApplication.processEvents()


def every_page(window, qtbot):
    """Each tab and each of its sub-pages made current and laid out in turn: (where, tab)."""
    for i in range(window.tab_widget.count()):
        window.tab_widget.setCurrentIndex(i)
        tab = window.tab_widget.widget(i)
        title = window.tab_widget.tabText(i)
        for page_name, _page in pages(tab):
            settle(qtbot)
            yield (f"{title}/{page_name}" if page_name else title), tab


def test_every_tab_and_page_fits_1280_by_720(window, qtbot):
    problems = []
    for where, _tab in every_page(window, qtbot):
        assert window.size().toTuple() == SCREEN, f"{where}: the window grew to {window.size().toTuple()}"
        problems += layout_problems(window, where)

    network = window.tab_instances["network"]
    window.tab_widget.setCurrentWidget(network)
    state = network.experiment_state()
    n = len(MAX_NETWORK)
    state["network"].update(hidden=MAX_NETWORK, activations=["tanh"] * n, dropout=[0.0] * n, batchnorm=[False] * n)
    network.apply_experiment_state(state)
    settle(qtbot)
    problems += layout_problems(window, "Network builder with 8 layers of 32")
    problems += header_problems(network.view.diagram)

    hint, minimum = window.minimumSizeHint(), window.minimumSize()
    for what, size in (("minimumSizeHint", hint), ("minimumSize", minimum)):
        if size.width() > MAX_CONTENT[0] or size.height() > MAX_CONTENT[1]:
            problems.append(f"the window's {what} is {size.width()}×{size.height()}, more than {MAX_CONTENT[0]}×{MAX_CONTENT[1]}")
    assert not problems, f"{len(problems)} layout problems at 1280×720:\n" + "\n".join(problems[:40])


def header_problems(diagram) -> list[str]:
    """The diagram's column titles ("32 neurons") are painted, not widgets: their columns
    must be far enough apart for them."""
    from PySide6.QtGui import QFontMetricsF

    metrics = QFontMetricsF(diagram.font())
    centers = diagram.column_centers()
    widest = max(metrics.horizontalAdvance(f"{w} neurons") for w in diagram.widths)
    gaps = [b - a for a, b in zip(centers, centers[1:])]
    if min(gaps) < widest:
        return [f"the network diagram's columns are {min(gaps):.0f} px apart, its titles {widest:.0f} px wide"]
    return []


def holds_controls(area: QAbstractScrollArea) -> bool:
    """A scroll area of the controls a student sets: a column of controls, or a list or
    tree of choices (ticked, dragged, edited). Tables of results, text boxes and plots
    are not."""
    if isinstance(area, QTableView):
        return False
    if isinstance(area, QScrollArea):
        content = area.widget()
        return content is not None and any(content.findChildren(kind) for kind in CONTROLS)
    return isinstance(area, QAbstractItemView)


def sideways_problems(root: QWidget, where: str) -> list[str]:
    problems = []
    for area in root.findChildren(QAbstractScrollArea):
        if area.isVisible() and holds_controls(area) and area.horizontalScrollBar().maximum() > 0:
            problems.append(f"{where}: {describe(area)} scrolls {area.horizontalScrollBar().maximum()} px sideways "
                            f"in its {QWidget.width(area)} px column")
    return problems


def plot_height_problems(root: QWidget, where: str) -> list[str]:
    problems = []
    for plot in root.findChildren(pg.PlotWidget):
        if not plot.isVisible():
            continue
        item = plot.getPlotItem()
        title = f" {item.titleLabel.text!r}" if item.titleLabel.text else ""
        if plot.height() < MIN_PLOT_HEIGHT:
            problems.append(f"{where}: plot {type(plot).__name__}{title} is {plot.height()} px tall, less than {MIN_PLOT_HEIGHT}")
    return problems


def test_control_panels_do_not_scroll_sideways_and_plots_keep_their_height(window, qtbot):
    """At 1280×720 every column of controls reflows to its width (vertical scrolling is
    fine), in both modes; on a projector every plot keeps a height its curves can use."""
    presentation = theme().style.presentation
    problems = []
    for where, tab in every_page(window, qtbot):
        problems += sideways_problems(tab, where)
        if presentation:
            problems += plot_height_problems(tab, where)
    problems = list(dict.fromkeys(problems))  # the tab's own view is also its first page's
    assert not problems, f"{len(problems)} problems at 1280×720:\n" + "\n".join(problems[:40])
