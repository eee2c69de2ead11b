"""The map's contour lines are pyqtgraph's, element for element, computed faster."""

import numpy as np
import pyqtgraph as pg
import pytest

from core.optimizer_race.surfaces import make_surface, surface_grid
from widgets.contour_view import ContourView, isocurve_lines, log_levels


def _elements(path):
    return [(path.elementAt(k).type, path.elementAt(k).x, path.elementAt(k).y) for k in range(path.elementCount())]


# rastrigin: many closed curves; rosenbrock: cells crossed twice (saddle cases); saddle:
# curves that run off the grid's edges.
@pytest.mark.parametrize("key", ["quadratic", "rosenbrock", "rastrigin", "saddle"])
def test_contour_paths_are_exactly_pyqtgraphs(qtbot, key):
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
        ref = pg.functions.isocurve(iso.data, iso.level, connected=True, extendToEdge=True, path=True)
        assert ref.elementCount() > 0 and _elements(iso.path) == _elements(ref)
        lines = pg.functions.isocurve(iso.data, iso.level, connected=True, extendToEdge=True)
        mine = isocurve_lines(iso.data, iso.level)
        assert len(mine) == len(lines)
        for a, b in zip(mine, lines):
            np.testing.assert_array_equal(a, np.asarray(b))


def test_a_level_off_the_surface_has_no_contour(qtbot):
    Z = np.add.outer(np.arange(5.0), np.arange(4.0))
    assert isocurve_lines(Z, 100.0) == [] and isocurve_lines(Z, -1.0) == []
    (line,) = isocurve_lines(Z, 3.5)
    # x + y = 3.5 with value i at pixel centre i + 0.5 (as ImageItem draws it); the ends
    # are pulled onto the grid's edge.
    assert line.shape[1] == 2 and np.allclose(line[1:-1].sum(axis=1), 4.5)
    assert {tuple(line[0]), tuple(line[-1])} == {(4.0, 0.0), (1.0, 4.0)}
