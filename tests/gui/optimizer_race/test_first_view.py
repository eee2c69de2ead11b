"""The race tab opens on a result, and a new surface clears the old race."""

from PySide6.QtCore import Qt

from lab.runner import JobState


def test_the_tab_opens_on_the_default_race_and_another_surface_clears_it(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    page = tab.surface_page
    assert page.loss_plot.hint_text().startswith("Play")  # before the first result arrives
    assert tab.runner.state == JobState.IDLE  # nothing runs at construction
    # The default race starts when the tab is first shown, at full speed whatever the slider says.
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    assert page.contour.n_points() == 501
    assert page.board.rowCount() == len(page.loss_plot.names()) == 9
    assert page.loss_plot.hint_text() == ""
    assert tab.controls.play_button.text() == "Play"

    page.surface_combo.setCurrentIndex(page.surface_combo.findData("rosenbrock"))
    assert page.contour.n_points() == 0 and page.board.rowCount() == 0
    assert page.loss_plot.names() == [] and page.loss_plot.hint_text().startswith("Play")


def test_a_new_surface_mid_race_stops_it_and_no_late_chunk_draws_the_old_paths(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    page = tab.surface_page
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=15000)
    tab.controls.speed_slider.setValue(6)  # 100 steps/s: the race is still going below
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: page.contour.n_points() > 5, timeout=5000)
    page.surface_combo.setCurrentIndex(page.surface_combo.findData("saddle"))
    assert tab.runner.state == JobState.STOPPED
    qtbot.waitUntil(lambda: tab.runner.thread_count() == 0, timeout=5000)
    qtbot.wait(50)  # what the old worker posted before it ended is handled now (none of it may draw)
    assert page.contour.n_points() == 0 and page.board.rowCount() == 0 and page.loss_plot.names() == []


def test_the_network_pages_say_what_play_does(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.pages.setCurrentIndex(1)
    assert "trains" in tab.net_page.train_loss.hint_text()
    tab.pages.setCurrentIndex(2)
    assert "batch size" in tab.batch_page.loss.hint_text()


def test_another_data_set_clears_the_network_race_and_leaving_a_field_unchanged_does_not(make_tab, qtbot):
    tab = make_tab("optimizers", size=(1400, 900))
    tab.pages.setCurrentIndex(1)
    page = tab.net_page
    page.controls.epochs.set_value(5)
    tab.controls.speed_slider.setValue(tab.controls.speed_slider.maximum())
    qtbot.mouseClick(tab.controls.play_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=30000)
    assert page.train_loss.names()
    page.controls.hidden.setFocus()
    qtbot.keyClick(page.controls.hidden, Qt.Key_Return)  # Enter on the unchanged field: the curves stay
    assert page.train_loss.names()
    page.controls.dataset.setCurrentIndex((page.controls.dataset.currentIndex() + 1) % page.controls.dataset.count())
    assert page.train_loss.names() == [] and page.summary.text() == ""
    assert "trains" in page.train_loss.hint_text()
