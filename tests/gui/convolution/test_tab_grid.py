"""NumberGrid, the editable number matrix of the convolution tab, by real mouse and keys."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from widgets.number_grid import CELL_PADDING, NumberGrid, short_number
from widgets.param_form import parse_number


def cell_centre(grid, r, c) -> QPoint:
    return grid.cell_rect(r, c).center().toPoint()


def test_double_click_edits_a_cell_and_refuses_text(qtbot):
    grid = NumberGrid("input", editable=True)
    qtbot.addWidget(grid)
    grid.resize(300, 300)
    grid.show()
    grid.set_values(np.arange(9.0).reshape(3, 3))
    qtbot.waitExposed(grid)
    qtbot.mouseDClick(grid.canvas, Qt.LeftButton, pos=cell_centre(grid, 2, 1))
    assert grid.editor.isVisible() and grid.editor.text() == "7"
    qtbot.keyClicks(grid.editor, "x1")
    qtbot.keyClick(grid.editor, Qt.Key_Return)
    assert "Row 2, column 1: 'x1' is not a number. The cell keeps 7." in grid.error.text()  # typing replaced the selected old value
    assert grid.values[2, 1] == 7
    grid.editor.selectAll()
    with qtbot.waitSignal(grid.cell_edited) as sig:
        qtbot.keyClicks(grid.editor, "-1,5")  # a decimal comma is fine
        qtbot.keyClick(grid.editor, Qt.Key_Return)
    assert sig.args == [2, 1, -1.5] and grid.values[2, 1] == -1.5 and not grid.editor.isVisible()


def test_read_only_grid_ignores_double_click_and_draws_highlight(qtbot):
    grid = NumberGrid()
    qtbot.addWidget(grid)
    grid.resize(200, 200)
    grid.show()
    roles = np.zeros((4, 4), int)
    roles[0] = CELL_PADDING
    grid.set_values(np.ones((4, 4)), roles=roles, filled=np.eye(4, dtype=bool))
    grid.set_highlight([1, 2], [1, 2], overlay=np.full((2, 2), 0.5), current=(3, 3))
    qtbot.waitExposed(grid)
    qtbot.mouseDClick(grid.canvas, Qt.LeftButton, pos=cell_centre(grid, 1, 1))
    assert not grid.editor.isVisible()
    image = grid.grab().toImage()
    # the highlighted cell's border is drawn in the highlight colour
    rect = grid.canvas.geometry()
    cell = grid.cell_rect(1, 1).translated(rect.x(), rect.y())
    colour = image.pixelColor(int(cell.left()) + 1, int(cell.center().y()))
    assert (colour.red(), colour.green()) == (230, 159)


def test_cells_show_short_numbers_and_read_back_what_they_show():
    assert [short_number(v) for v in (3.0, -0.5, 1.234, 12345.0, float("-inf"))] == ["3", "−0.5", "1.23", "1.23e+04", "−∞"]
    assert parse_number(" 2,5 ") == 2.5 and parse_number("−3") == -3.0  # typographic minus, as cells show it
    for bad in ("", "abc", "inf"):
        with pytest.raises(ValueError):
            parse_number(bad)


def test_large_grid_paints_as_an_image(qtbot):
    grid = NumberGrid()
    qtbot.addWidget(grid)
    grid.resize(160, 160)
    grid.show()
    values = np.zeros((40, 40))
    values[:, 20:] = 1.0
    grid.set_values(values)
    qtbot.waitExposed(grid)
    assert grid.cell_size() < 22
    image = grid.canvas.grab().toImage()
    right = image.pixelColor(int(grid.cell_rect(20, 30).center().x()), int(grid.cell_rect(20, 30).center().y()))
    left = image.pixelColor(int(grid.cell_rect(20, 5).center().x()), int(grid.cell_rect(20, 5).center().y()))
    assert (right.red(), right.green(), right.blue()) == (178, 24, 43)  # the top of the diverging map
    assert (left.red(), left.green(), left.blue()) == (255, 255, 255)
