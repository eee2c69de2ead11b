"""The augmentation tab by real clicks: the grid fills with hover texts, the pipeline
is edited from its controls, bad values are refused at the control, and a failing
pipeline leaves the last good grid on screen."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QModelIndex, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from lab.runner import JobState


def open_tab(make_tab, qtbot, draws):
    """A shown tab whose first grid of ``draws`` draws is on screen."""
    t = make_tab("augmentation", size=(1400, 900))
    t.controls.count_spin.setValue(draws)
    settled(t, qtbot)
    return t


@pytest.fixture
def tab(make_tab, qtbot):
    return open_tab(make_tab, qtbot, 6)


def settled(tab, qtbot, timeout=15000):
    """Wait until the newest grid job has finished and its draws are painted."""
    qtbot.waitUntil(lambda: not tab._regen.isActive() and tab.runner.state in (JobState.FINISHED, JobState.FAILED), timeout=timeout)
    tab.redraw()


def select_step(tab, qtbot, title):
    """Click a step in the list; its controls appear (Qt shows new children on the next loop)."""
    lst = tab.controls.editor.list
    row = next(r for r in range(lst.count()) if lst.item(r).text().startswith(title))
    qtbot.mouseClick(lst.viewport(), Qt.LeftButton, pos=lst.visualItemRect(lst.item(row)).center())
    assert lst.currentRow() == row
    qtbot.waitUntil(lambda: tab.controls.editor.fields["p"].isVisible())
    return row


def step_titles(tab):
    lst = tab.controls.editor.list
    return [lst.item(r).text().split("   ")[0] for r in range(lst.count())]


def test_grid_fills_and_hover_lists_the_sampled_parameters(tab, qtbot):
    grid = tab.grid_view
    assert grid.count() == grid.filled() == 6
    tip = grid.tooltip_for(0)
    assert "Rotation: angle=" in tip and "Random resized crop: top=" in tip
    angle = float(tip.split("Rotation: angle=")[1].split("\n")[0])
    assert -30 <= angle <= 30
    center = grid._cell_rects()[0].center()
    QApplication.sendEvent(grid, QHelpEvent(QEvent.ToolTip, center, grid.mapToGlobal(center)))
    assert QToolTip.text() == tip
    assert "v2.RandomRotation(degrees=30.0)" in tab.code_view.toPlainText()
    qtbot.mouseClick(tab.controls.copy_code_button, Qt.LeftButton)
    assert QApplication.clipboard().text() == tab.code_view.toPlainText()
    assert tab.histograms.plot.names()  # the channel histograms were drawn


def test_add_search_reorder_toggle_and_remove_by_clicks(tab, qtbot):
    editor = tab.controls.editor
    editor.add_menu.aboutToShow.emit()
    qtbot.keyClicks(editor.search, "blur")
    visible = [t for t, a in editor.type_actions.items() if a.isVisible()]
    assert visible == ["GaussianBlur"]
    editor.type_actions["GaussianBlur"].trigger()
    assert step_titles(tab)[-1] == "Gaussian blur"
    qtbot.mouseClick(editor.up_button, Qt.LeftButton)
    assert step_titles(tab)[-2:] == ["Gaussian blur", "Colour jitter"]
    settled(tab, qtbot)
    code = tab.code_view.toPlainText()
    assert code.index("GaussianBlur") < code.index("ColorJitter")
    # A drag in the list moves the row in its model, as here: the crop goes to the end.
    model = editor.list.model()
    assert model.moveRow(QModelIndex(), 0, QModelIndex(), model.rowCount())
    qtbot.waitUntil(lambda: step_titles(tab)[-1] == "Random resized crop")
    settled(tab, qtbot)
    code = tab.code_view.toPlainText()
    assert code.index("RandomRotation") < code.index("RandomResizedCrop")

    row = select_step(tab, qtbot, "Horizontal flip")
    editor.list.item(row).setCheckState(Qt.Unchecked)  # what clicking the tick box does
    settled(tab, qtbot)
    assert "RandomHorizontalFlip" not in tab.code_view.toPlainText()
    assert "Horizontal flip: " not in tab.grid_view.tooltip_for(0)

    select_step(tab, qtbot, "Gaussian blur")
    qtbot.mouseClick(editor.remove_button, Qt.LeftButton)
    settled(tab, qtbot)
    assert "Gaussian blur" not in step_titles(tab)
    assert "GaussianBlur" not in tab.code_view.toPlainText()


def test_bad_values_are_refused_at_the_control_and_change_nothing(tab, qtbot):
    editor = tab.controls.editor
    before = editor.entries()
    select_step(tab, qtbot, "Rotation")
    assert not editor.fields["degrees"].try_text("500")
    assert editor.fields["degrees"].error.isVisible()
    select_step(tab, qtbot, "Random resized crop")
    assert not editor.fields["scale.1"].try_text("0.05")  # a maximum below the minimum 0.08
    assert "smaller than the minimum 0.08" in editor.fields["scale.1"].error.text()
    assert editor.entries() == before
    assert editor.fields["scale.1"].try_text("0.5")  # a good value clears the message and applies
    assert not editor.fields["scale.1"].error.isVisible()
    assert editor.entries()[0]["params"]["scale"] == [0.08, 0.5]


def type_into(qtbot, field, text):
    """Select the box's text, type ``text`` and press Enter, as a student does."""
    field.edit.setFocus()
    field.edit.selectAll()
    qtbot.keyClicks(field.edit, text)
    qtbot.keyClick(field.edit, Qt.Key_Return)


def test_a_minimum_above_its_maximum_is_refused_at_the_field_typed_into(tab, qtbot):
    editor = tab.controls.editor
    select_step(tab, qtbot, "Random resized crop")
    before = editor.entries()
    grid_before = tab.grid_view.image_for(0).copy()
    scale_min, ratio_min, ratio_max = editor.fields["scale.0"], editor.fields["ratio.0"], editor.fields["ratio.1"]

    type_into(qtbot, scale_min, "0.9")
    type_into(qtbot, editor.fields["scale.1"], "0.5")
    assert editor.fields["scale.1"].error.text() == "The area scale maximum 0.5 is smaller than the minimum 0.9; enter at least 0.9"
    assert editor.entries()[0]["params"]["scale"] == [0.9, 1.0]
    assert editor.fields["scale.1"].value() == 1.0  # the last good value, the typed text left to fix
    assert editor.fields["scale.1"].edit.text() == "0.5"
    type_into(qtbot, scale_min, "0.08")  # putting the pair in order clears the other half's message
    assert not editor.fields["scale.1"].error.isVisible()

    # The preset's maximum 1.3333 shows as 1.333: a minimum of 1.3334 differs from it only
    # beyond the shown digits, and the message says so with the digits that tell them apart.
    assert ratio_max.edit.text() == "1.333"
    type_into(qtbot, ratio_min, "1.3334")
    assert ratio_min.error.isVisible()
    assert ratio_min.error.text() == "The aspect ratio minimum 1.3334 is larger than the maximum 1.3333; enter at most 1.3333"
    assert ratio_min.edit.text() == "1.3334" and ratio_min.value() == 0.75
    type_into(qtbot, ratio_max, "1.333")  # the box's own text entered again keeps 1.3333, not the rounded 1.333
    assert editor.entries()[0]["params"]["ratio"] == [0.75, 1.3333]
    type_into(qtbot, ratio_min, "1.3333")  # equal is what the core allows
    assert not ratio_min.error.isVisible()
    assert editor.entries()[0]["params"]["ratio"] == [1.3333, 1.3333]
    type_into(qtbot, ratio_max, "0.5")
    assert "smaller than the minimum 1.333" in ratio_max.error.text()
    assert editor.entries()[0]["params"]["ratio"] == [1.3333, 1.3333]
    type_into(qtbot, ratio_min, "0.75")
    assert editor.entries()[0]["params"]["scale"] == before[0]["params"]["scale"]
    assert editor.entries()[0]["params"]["ratio"] == [0.75, 1.3333]
    settled(tab, qtbot)
    assert tab.grid_view.image_for(0).size() == grid_before.size()


def test_a_crop_larger_than_the_image_keeps_the_last_good_grid(tab, qtbot):
    editor = tab.controls.editor
    editor.add_transform("RandomCrop")
    settled(tab, qtbot)
    first = tab.grid_view.image_for(0).copy()
    assert first.width() == 192  # the crop's default size
    qtbot.waitUntil(lambda: editor.fields["size"].isVisible())
    editor.fields["pad_if_needed"].setChecked(False)
    assert editor.fields["size"].try_text("400")
    settled(tab, qtbot)
    assert tab.runner.state == JobState.FAILED
    assert "cannot transform this 256×256 image" in tab.banner.text()
    assert tab.grid_view.image_for(0) == first and tab.grid_view.filled() == 6


def test_same_seed_same_grid_and_re_roll(tab, qtbot):
    before = [tab.grid_view.image_for(i).copy() for i in range(6)]
    tab.controls.seed_spin.setValue(5)
    settled(tab, qtbot)
    assert tab.grid_view.image_for(0) != before[0]
    tab.controls.seed_spin.setValue(0)
    settled(tab, qtbot)
    assert [tab.grid_view.image_for(i) for i in range(6)] == before
    qtbot.mouseClick(tab.controls.reroll_button, Qt.LeftButton)
    assert tab.controls.seed_spin.value() != 0 or tab.controls.seed_spin.value() == 0  # any seed is allowed
    settled(tab, qtbot)
    assert tab.experiment_state()["seed"] == tab.controls.seed_spin.value()
    np.testing.assert_array_equal(tab.draws[0]["image"].shape, (224, 224, 3))


def test_dragging_a_slider_cancels_stale_grids(tab, qtbot):
    """Many changes in a row never queue work: one grid job at a time, and the grid on
    screen ends up showing the last setting."""
    editor = tab.controls.editor
    select_step(tab, qtbot, "Rotation")
    slider = editor.fields["degrees"].slider
    most_threads, first_generation = 0, tab.runner.generation
    for pos in range(0, 1000, 100):  # 10 slider positions, slower than the 5 ms debounce
        slider.setValue(pos)
        for _ in range(8):
            qtbot.wait(5)
            most_threads = max(most_threads, tab.runner.thread_count())
    settled(tab, qtbot)
    assert tab.runner.generation - first_generation > 2  # grids did start during the drag
    assert most_threads == 1
    last = editor.entries()[2]["params"]["degrees"]
    assert f"v2.RandomRotation(degrees={last!r})" in tab.code_view.toPlainText()
    angles = [abs(float(tab.grid_view.tooltip_for(i).split("angle=")[1].split("\n")[0])) for i in range(6)]
    assert max(angles) <= last + 0.01


def test_torchvision_is_imported_only_inside_functions():
    """Importing torchvision costs seconds; the tab and its core modules import it lazily."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    files = [*root.glob("lab/tabs/augmentation/*.py"), root / "widgets/image_grid_view.py", *root.glob("core/augmentation/*.py"), root / "core/transforms.py", root / "core/datasets/samples.py"]
    assert len(files) >= 10
    for path in files:
        for node in ast.parse(path.read_text()).body:  # module level only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "torchvision" for n in names), path.name
