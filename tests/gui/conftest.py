import pytest


@pytest.fixture(autouse=True)
def _fresh_theme():
    """Each GUI test starts from the default look (the theme is one per application)."""
    from widgets.theme import Style, theme

    yield
    t = theme()
    if t.style != Style():
        t.set_style(dark=False, font_scale=1.0, presentation=False)
