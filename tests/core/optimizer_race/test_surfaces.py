"""Every surface: closed-form gradient equals autograd, the minima are minima."""

import math

import numpy as np
import pytest
import torch

from core.optimizer_race.surfaces import SURFACES, check_start, make_surface, surface_gradient, surface_grid
from core.safe_expr import ExpressionError

BUILTIN = [k for k in SURFACES if k != "custom"]


@pytest.mark.parametrize("name", BUILTIN)
def test_closed_form_gradient_matches_autograd(name):
    s = make_surface(name, condition=37.0)
    x0, x1, y0, y1 = s.domain
    gen = torch.Generator().manual_seed(1)
    p = torch.stack([x0 + (x1 - x0) * torch.rand(64, generator=gen, dtype=torch.float64),
                     y0 + (y1 - y0) * torch.rand(64, generator=gen, dtype=torch.float64)], 1).requires_grad_(True)
    (auto,) = torch.autograd.grad(s.fn(p[:, 0], p[:, 1]).sum(), p)
    gx, gy = s.grad(p[:, 0].detach(), p[:, 1].detach())
    torch.testing.assert_close(torch.stack([gx, gy], 1), auto, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("name", BUILTIN)
def test_minima_have_zero_gradient_and_lie_below_their_neighbours(name):
    s = make_surface(name)
    if name == "saddle":
        assert s.minima == ()
        return
    assert s.minima, name
    for x, y in s.minima:
        assert s.contains(x, y)
        gx, gy = surface_gradient(s, x, y)
        assert math.hypot(gx, gy) < 1e-6
        centre = float(s.fn(np.float64(x), np.float64(y)))
        for dx, dy in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
            assert float(s.fn(np.float64(x + dx), np.float64(y + dy))) > centre
    # the first minimum is the global one on the drawn grid
    _, _, Z = surface_grid(s, 200)
    assert float(s.fn(np.float64(s.minima[0][0]), np.float64(s.minima[0][1]))) <= Z.min() + 1e-9
    assert s.floor <= Z.min() + 1e-9


def test_known_minima_positions():
    assert make_surface("rosenbrock").minima[0] == pytest.approx((1.0, 1.0))
    assert make_surface("beale").minima[0] == pytest.approx((3.0, 0.5))
    assert len(make_surface("himmelblau").minima) == 4
    two = make_surface("two_minima")
    left, right = two.minima
    assert left[0] < 0 < right[0] and two.fn(*left) < two.fn(*right)


def test_quadratic_condition_number_is_the_curvature_ratio():
    s = make_surface("quadratic", condition=50.0)
    p = torch.zeros(2, dtype=torch.float64)
    h = torch.autograd.functional.hessian(lambda q: s.fn(q[0], q[1]), p)
    ev = torch.linalg.eigvalsh(h)
    assert float(ev[1] / ev[0]) == pytest.approx(50.0)
    with pytest.raises(ValueError, match="Condition number"):
        make_surface("quadratic", condition=0.5)


def test_custom_formula_finds_its_minimum_and_uses_autograd():
    s = make_surface("custom", formula="(x - 1)^2 + 2*(y + 0.5)^2")
    assert s.grad is None
    assert s.minima[0] == pytest.approx((1.0, -0.5), abs=1e-8)
    assert s.floor == pytest.approx(0.0, abs=1e-9)


def test_custom_formula_with_nan_in_the_domain_is_refused_with_a_place():
    with pytest.raises(ExpressionError, match="not finite everywhere"):
        make_surface("custom", formula="log(x)")
    with pytest.raises(ExpressionError, match="Unknown name"):
        make_surface("custom", formula="x + z")


def test_start_outside_the_map_or_on_a_nan_is_refused():
    s = make_surface("rosenbrock")
    with pytest.raises(ValueError, match="outside the map"):
        check_start(s, 5.0, 0.0)
    with pytest.raises(ValueError, match="finite"):
        check_start(s, float("nan"), 0.0)
    check_start(s, *s.start)
