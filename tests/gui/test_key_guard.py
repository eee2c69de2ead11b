"""Play / Step / Reset shortcuts leave the keys a focused field, checkbox or button needs."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from lab.runner import JobState


@pytest.fixture
def race(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.activateWindow()
    qtbot.waitActive(tab)
    # The tab opens on its default race; let it end so that "starts nothing" can be seen.
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    return tab


def test_typing_space_and_r_into_a_number_field_keeps_them_and_starts_nothing(race, qtbot):
    edit = race.surface_page.steps_field.edit
    edit.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is edit)
    edit.clear()
    generation = race.runner.generation
    qtbot.keyClicks(edit, "0.03 r")
    qtbot.keyClick(edit, Qt.Key_Right)
    assert edit.text() == "0.03 r"
    assert race.runner.generation == generation and race.runner.state == JobState.FINISHED


def test_space_on_a_focused_checkbox_ticks_it_and_starts_nothing(race, qtbot):
    box = race.surface_page.racers.rows()[0].enabled
    box.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is box)
    before, generation = box.isChecked(), race.runner.generation
    qtbot.keyClick(box, Qt.Key_Space)
    assert box.isChecked() is not before
    assert race.runner.generation == generation and race.runner.state == JobState.FINISHED


def test_space_with_the_focus_on_the_map_plays_and_r_resets(race, qtbot):
    page = race.surface_page
    page.contour.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.contour)
    generation = race.runner.generation
    qtbot.keyClick(page.contour, Qt.Key_Space)
    assert race.runner.generation == generation + 1
    qtbot.keyClick(page.contour, Qt.Key_R)
    assert race.runner.state == JobState.STOPPED
    assert page.contour.n_points() == 0 and page.board.rowCount() == 0


def test_space_on_the_read_only_leaderboard_plays_but_its_arrows_stay_with_it(race, qtbot):
    board = race.surface_page.board
    board.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is board)
    board.setCurrentCell(0, 0)
    generation = race.runner.generation
    qtbot.keyClick(board, Qt.Key_Right)
    assert board.currentColumn() == 1 and race.runner.generation == generation  # moved, did not step
    qtbot.keyClick(board, Qt.Key_Space)
    assert race.runner.generation == generation + 1
