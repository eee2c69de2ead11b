"""PySide6 6.12.0 on Python 3.11 dropped a reference to None on each void Qt call and
aborted the interpreter after a few thousand; pyproject keeps that combination out."""

import sys

from PySide6.QtCore import QTimer


def test_void_qt_calls_keep_the_refcount_of_none(qtbot):
    timer = QTimer()
    for i in range(200):  # warm up any caches
        timer.setInterval(i)
    before = sys.getrefcount(None)
    for i in range(30_000):
        timer.setInterval(i % 1000)
    after = sys.getrefcount(None)
    assert abs(after - before) < 100, f"refcount of None moved by {after - before}"
