"""The map's contour lines (contourpy) lie on their levels, where pyqtgraph's own isocurve
puts them, and a level the surface never reaches draws nothing."""

import numpy as np
import pyqtgraph as pg
import pytest

from core.optimizer_race.surfaces import make_surface, surface_grid
from widgets.contour_view import ContourView, isocurve_lines, log_levels


def _value_at(data: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of data at points given as index + 0.5 (pixel centres)."""
    i, j = points[:, 0] - 0.5, points[:, 1] - 0.5
    i0 = np.clip(np.floor(i).astype(int), 0, data.shape[0] - 2)
    j0 = np.clip(np.floor(j).astype(int), 0, data.shape[1] - 2)
    fi, fj = i - i0, j - j0
    return (data[i0, j0] * (1 - fi) * (1 - fj) + data[i0 + 1, j0] * fi * (1 - fj)
            + data[i0, j0 + 1] * (1 - fi) * fj + data[i0 + 1, j0 + 1] * fi * fj)


def _length(lines) -> float:
    return sum(float(np.hypot(*np.diff(np.asarray(line), axis=0).T).sum()) for line in lines)


# rastrigin: many closed curves; rosenbrock: cells crossed twice (saddle cases); saddle:
# curves that run off the grid's edges.
@pytest.mark.parametrize("key", ["quadratic", "rosenbrock", "rastrigin", "saddle"])
def test_every_contour_lies_on_its_level_where_pyqtgraph_draws_it(qtbot, key):
    view = ContourView()
    qtbot.addWidget(view)
    surface = make_surface(key)
    xs, ys, Z = surface_grid(surface, 160)
    view.set_surface(xs, ys, Z, surface.floor, surface.minima, surface.label)
    levels = log_levels(Z, surface.floor)
    isos = [i for i in view.getPlotItem().scene().items() if isinstance(i, pg.IsocurveItem)]
    assert len(isos) == len(levels)
    for iso in isos:
        iso.generatePath()
        assert iso.path.elementCount() > 0
        lines = isocurve_lines(iso.data, iso.level)
        points = np.concatenate(lines)
        scale = np.ptp(iso.data)
        assert np.abs(_value_at(iso.data, points) - iso.level).max() < 1e-9 * scale + 1e-12
        # the same curves as pyqtgraph's, up to how a cell crossed twice is joined (either
        # way is on the level) and the pixel pyqtgraph runs an open curve on to the edge
        reference = pg.functions.isocurve(iso.data, iso.level, connected=True, extendToEdge=True)
        open_ends = 2 * sum(not np.allclose(line[0], line[-1]) for line in lines)
        assert abs(_length(lines) - _length(reference)) <= 0.02 * _length(reference) + open_ends


def test_a_level_off_the_surface_has_no_contour(qtbot):
    Z = np.add.outer(np.arange(5.0), np.arange(4.0))
    assert isocurve_lines(Z, 100.0) == [] and isocurve_lines(Z, -1.0) == []
    (line,) = isocurve_lines(Z, 3.5)
    # x + y = 3.5 with value i at pixel centre i + 0.5 (as ImageItem draws it)
    assert line.shape[1] == 2 and np.allclose(line.sum(axis=1), 4.5)
    assert {tuple(line[0]), tuple(line[-1])} == {(4.0, 0.5), (1.0, 3.5)}


def test_nine_racers_legend_fits_a_short_map_on_a_projector(qtbot):
    """At a projector's font the legend's nine rows were taller than the map, and the last
    names were cut off: it takes more columns (or smaller text) until it fits."""
    from widgets.theme import theme

    theme().set_style(presentation=True)
    view = ContourView()
    qtbot.addWidget(view)
    view.resize(560, 300)
    view.show()
    names = ["SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "SGD η=0.01 σ=0.5"]
    view.set_racers(names, ["#0072B2"] * len(names))
    qtbot.waitUntil(lambda: view.legend.boundingRect().height() > 0)
    vb = view.getPlotItem().vb
    legend = view.legend.boundingRect()
    assert legend.height() <= vb.height() and legend.width() <= vb.width()
    assert view.legend.columnCount > 1
    # and where even so it would cover most of the map, the map is shown whole
    view.resize(420, 260)
    qtbot.waitUntil(lambda: not view.legend.isVisible())
    view.resize(900, 700)
    qtbot.waitUntil(view.legend.isVisible)


def test_the_legend_moves_off_the_paths_and_the_minimum(qtbot):
    """A legend over the minimum's star hid where the race ends: it goes to the corner
    with the fewest path points, minima and start."""
    view = ContourView()
    qtbot.addWidget(view)
    view.resize(560, 420)
    view.show()
    surface = make_surface("quadratic")
    xs, ys, Z = surface_grid(surface, 80)
    view.set_surface(xs, ys, Z, surface.floor, surface.minima, surface.label)
    view.set_racers(["SGD", "Adam"], ["#0072B2", "#E69F00"])
    # both racers run from the top-right corner (where the legend starts) to the centre
    t = np.linspace(0, 1, 50)[:, None, None]
    start = np.array([[surface.domain[1] * 0.95, surface.domain[3] * 0.95]] * 2)
    view.append_points(start * (1 - t))
    view.redraw()
    assert view._legend_corner != (1, 0)
