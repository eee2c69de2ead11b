"""The bias–variance tab opens on the default fits, and its other pages say what Play does."""

import pytest

from lab.runner import JobState

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_the_first_show_fits_the_default_setup_and_other_pages_have_a_hint(make_tab, qtbot):
    tab = make_tab("bias_variance", size=(1400, 900))
    page = tab.fits_page
    assert page.data is None and tab.runner.state == JobState.IDLE  # nothing at construction
    qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=10000)
    assert page.data is not None and page.fit_plot.names()
    assert page.fit_plot.hint_text() == ""
    tab.show_page("complexity")
    assert tab.page().plot.hint_text().startswith("Play")
