"""The application icon: drawn from assets/icons at every size, on the window and in the About box."""

import pytest
from PySide6.QtGui import QColor, QImage

from lab.app import application_icon, create_application
from lab.main_window import MainWindow
from lab.settings import SettingsStore

# The output neuron of the drawn network, in the icon's 256-unit drawing (icons/dllab.svg).
OUTPUT_NEURON = (200, 128)
OUTPUT_YELLOW = QColor("#fcd34d")


def _is_output_yellow(image: QImage, size: int) -> bool:
    x, y = (round(c * size / 256) for c in OUTPUT_NEURON)
    pixel = image.pixelColor(x, y)
    return pixel.alpha() == 255 and all(
        abs(a - b) <= 24 for a, b in zip(pixel.getRgb()[:3], OUTPUT_YELLOW.getRgb()[:3])
    )


@pytest.mark.parametrize("size", [16, 32, 256])
def test_the_icon_renders_the_drawing_at_every_size(qapp, size):
    image = application_icon().pixmap(size, size).toImage()
    assert (image.width(), image.height()) == (size, size)
    assert image.pixelColor(0, 0).alpha() == 0  # the rounded corner stays transparent
    assert _is_output_yellow(image, size)


def test_the_window_and_the_about_box_show_the_icon(qtbot):
    app = create_application()
    assert not app.windowIcon().isNull()
    win = MainWindow(SettingsStore())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.stack.currentWidget() is win.tab_widget, timeout=30000)
    assert not win.windowIcon().isNull()
    assert _is_output_yellow(win.windowIcon().pixmap(32, 32).toImage(), 32)

    box = win.show_about()
    qtbot.waitExposed(box)
    assert box.isVisible() and "Deep-learning lab" in box.text()
    shown = box.iconPixmap()
    assert not shown.isNull()
    logical = shown.width() / shown.devicePixelRatio()
    assert logical == 64
    assert _is_output_yellow(shown.toImage(), shown.width())
    box.close()
    win.close()
