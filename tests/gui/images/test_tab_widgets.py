"""The image lab's widgets on their own: matrix view, image grid, layer-stack editor."""

import csv

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from core.images.models import LAYER_TYPES, preset_layers
from widgets.image_grid import ImageGrid, to_qimage
from widgets.layer_stack import LayerStackEditor
from widgets.matrix_view import MatrixView
from widgets.theme import theme


def _center(rect) -> QPoint:
    return QPoint(int(rect.center().x()), int(rect.center().y()))


def test_matrix_view_click_and_export(qtbot, tmp_path):
    view = MatrixView("Confusion")
    qtbot.addWidget(view)
    view.resize(360, 320)
    view.show()
    view.set_matrix(np.array([[5, 1], [2, 7]]), ["cat", "dog"])
    with qtbot.waitSignal(view.cell_clicked) as blocker:
        qtbot.mouseClick(view, Qt.LeftButton, pos=_center(view.cell_rect(1, 0)))
    assert blocker.args == [1, 0]
    png, csv_path = view.export(tmp_path / "conf", 2)
    assert QImage(str(png)).width() == 720
    rows = list(csv.reader(csv_path.read_text().splitlines()))
    assert rows == [["true", "cat", "dog"], ["cat", "5", "1"], ["dog", "2", "7"]]
    theme().set_style(dark=True)  # repaints in the dark palette without error
    assert not view.grab().isNull()


def test_image_grid_filter_and_click(qtbot):
    grid = ImageGrid()
    qtbot.addWidget(grid)
    grid.resize(400, 300)
    grid.show()
    grid.set_images(np.random.default_rng(0).random((6, 1, 5, 5)), [f"#{i}\nsecond line" for i in range(6)], ["#d03030", None] * 3)
    grid.set_filter([1, 4])
    assert grid.cell_rect(0) is None and grid.visible_indices() == [1, 4]
    with qtbot.waitSignal(grid.image_clicked) as blocker:
        qtbot.mouseClick(grid, Qt.LeftButton, pos=_center(grid.cell_rect(4)))
    assert blocker.args == [4]


def test_to_qimage_scales_each_image_to_its_range():
    img = to_qimage(np.array([[[-2.0, 2.0]]]), scaling="each")
    assert (img.pixelColor(0, 0).red(), img.pixelColor(1, 0).red()) == (0, 255)
    rgb = to_qimage(np.ones((3, 2, 2)) * np.array([1.0, 0.0, 0.0])[:, None, None])
    assert rgb.pixelColor(1, 1).getRgb()[:3] == (255, 0, 0)


def test_layer_stack_editor_edits_and_keeps_output_last(qtbot):
    editor = LayerStackEditor(LAYER_TYPES)
    qtbot.addWidget(editor)
    editor.show()
    editor.set_layers(preset_layers("mlp"))
    editor.select_row(1)
    with qtbot.waitSignal(editor.changed) as blocker:
        editor.field_editor("units").setValue(32)
    assert blocker.args[0][1] == {"type": "linear", "units": 32}
    qtbot.mouseClick(editor.down_button, Qt.LeftButton)
    assert [layer["type"] for layer in editor.layers()][1:3] == ["activation", "linear"]
    last = editor.tree.topLevelItem(editor.tree.topLevelItemCount() - 1)
    assert last.text(1) == "Output" and not (last.flags() & Qt.ItemIsDragEnabled)
    editor.select_row(len(editor.layers()) - 1)
    assert not editor.down_button.isEnabled()  # nothing moves below the output layer
