"""Two-dimensional loss surfaces with known minima, for racing optimizers on.

Every surface is a function ``f(x, y)`` that works elementwise on torch tensors (so
autograd gives exact gradients) and on numpy arrays (for drawing contours). Each
has a plot domain, a suggested start and its minima; a surface typed in as a
formula is parsed by :mod:`core.safe_expr` and its minima are found numerically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from core.safe_expr import ExpressionError, parse_expression

__all__ = [
    "Surface",
    "SURFACES",
    "make_surface",
    "surface_grid",
    "surface_gradient",
    "refine_minimum",
    "check_start",
]

Fn = Callable[..., object]


@dataclass(frozen=True)
class Surface:
    key: str
    label: str
    fn: Fn  # f(x, y) on tensors or arrays, elementwise
    domain: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]  # global and local minima worth marking
    floor: float  # lowest value on the domain: losses are shown as f - floor
    note: str = ""
    formula: str = ""  # the text, for a user formula
    grad: Fn | None = None  # closed-form (df/dx, df/dy); None: use autograd

    def __call__(self, x, y):
        return self.fn(x, y)

    def contains(self, x: float, y: float) -> bool:
        x0, x1, y0, y1 = self.domain
        return x0 <= x <= x1 and y0 <= y <= y1

    @property
    def span(self) -> float:
        x0, x1, y0, y1 = self.domain
        return max(x1 - x0, y1 - y0)


def _lib(v):
    return torch if isinstance(v, torch.Tensor) else np


# Each surface comes with its closed-form gradient: one autograd pass per step costs
# more than the whole batched optimizer update. The tests check them against autograd.


def _quadratic(condition: float) -> tuple[Fn, Fn]:
    # An elongated bowl rotated by 30° so that no optimizer gets its axes for free:
    # curvature 1 along one axis and `condition` along the other.
    c, s = math.cos(math.pi / 6), math.sin(math.pi / 6)
    k = 1 / math.sqrt(condition)

    def f(x, y):
        u = c * x + s * y
        w = -s * x + c * y
        return 0.5 * k * (u * u + condition * w * w)

    def grad(x, y):
        u = c * x + s * y
        w = condition * (-s * x + c * y)
        return k * (c * u - s * w), k * (s * u + c * w)

    return f, grad


def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(x, y):
    r = 200 * (y - x * x)
    return -2 * (1 - x) - 2 * x * r, r


def _beale_terms(x, y):
    return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3


def _beale(x, y):
    a, b, c = _beale_terms(x, y)
    return a * a + b * b + c * c


def _beale_grad(x, y):
    a, b, c = _beale_terms(x, y)
    gx = 2 * a * (y - 1) + 2 * b * (y * y - 1) + 2 * c * (y**3 - 1)
    gy = 2 * a * x + 4 * b * x * y + 6 * c * x * y * y
    return gx, gy


def _himmelblau(x, y):
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_grad(x, y):
    a, b = x * x + y - 11, x + y * y - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


def _rastrigin(x, y):
    lib = _lib(x)
    return 20 + x * x - 10 * lib.cos(2 * math.pi * x) + y * y - 10 * lib.cos(2 * math.pi * y)


def _rastrigin_grad(x, y):
    lib = _lib(x)
    w = 2 * math.pi
    return 2 * x + 10 * w * lib.sin(w * x), 2 * y + 10 * w * lib.sin(w * y)


def _saddle(x, y):
    return x * x - y * y


def _saddle_grad(x, y):
    return 2 * x, -2 * y


def _two_minima(x, y):
    # A double well tilted so that the left well is deeper: the global minimum near
    # x = -1 and a local one near x = +1, separated by a ridge at x ≈ 0.
    return (x * x - 1) ** 2 + 0.3 * x + 0.5 * y * y


def _two_minima_grad(x, y):
    return 4 * x * (x * x - 1) + 0.3, y


def _plateau(x, y):
    # Almost flat far from the origin (tiny gradients), a narrow bowl in the middle.
    lib = _lib(x)
    return 1 - lib.exp(-(x * x + y * y) / 2) + 0.001 * (x * x + y * y)


def _plateau_grad(x, y):
    e = _lib(x).exp(-(x * x + y * y) / 2)
    return x * e + 0.002 * x, y * e + 0.002 * y


# key -> (label, (f, gradient), domain, start, approximate minima, note)
_BUILTIN: dict[str, tuple] = {
    "quadratic": ("Elongated bowl (quadratic)", (None, None), (-3.0, 3.0, -3.0, 3.0), (-2.5, 2.0), ((0.0, 0.0),),
                  "Ill-conditioned quadratic: curvature ratio = condition number"),
    "rosenbrock": ("Rosenbrock valley", (_rosenbrock, _rosenbrock_grad), (-2.0, 2.0, -1.0, 3.0), (-1.5, 2.5), ((1.0, 1.0),),
                   "A long curved valley; the minimum at (1, 1) is easy to see and hard to reach"),
    "beale": ("Beale", (_beale, _beale_grad), (-4.5, 4.5, -4.5, 4.5), (1.0, 1.5), ((3.0, 0.5),),
              "Sharp ridges and flat arms; minimum at (3, 0.5)"),
    "himmelblau": ("Himmelblau (four minima)", (_himmelblau, _himmelblau_grad), (-5.0, 5.0, -5.0, 5.0), (0.0, 0.0),
                   ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
                   "Four equal minima: which one an optimizer finds depends on its path"),
    "rastrigin": ("Rastrigin (many local minima)", (_rastrigin, _rastrigin_grad), (-5.12, 5.12, -5.12, 5.12), (3.2, 2.3),
                  ((0.0, 0.0),), "A bumpy bowl: local minima at every integer point"),
    "saddle": ("Saddle x² − y²", (_saddle, _saddle_grad), (-2.0, 2.0, -2.0, 2.0), (1.5, 1e-3), (),
               "No minimum: starting near the ridge, who escapes downhill?"),
    "two_minima": ("Local and global minimum", (_two_minima, _two_minima_grad), (-2.0, 2.0, -2.0, 2.0), (1.8, 1.5),
                   ((-1.037, 0.0), (0.96, 0.0)), "A deep well on the left, a shallow one on the right"),
    "plateau": ("Plateau", (_plateau, _plateau_grad), (-6.0, 6.0, -6.0, 6.0), (4.5, 4.0), ((0.0, 0.0),),
                "Far from the centre the gradient almost vanishes"),
}

SURFACES: dict[str, str] = {k: v[0] for k, v in _BUILTIN.items()}
SURFACES["custom"] = "Your formula f(x, y)"

CUSTOM_DOMAIN = (-3.0, 3.0, -3.0, 3.0)


def refine_minimum(fn: Fn, point, steps: int = 30) -> tuple[float, float] | None:
    """Newton's method in float64 from ``point``; None when it does not settle."""
    p = torch.tensor(point, dtype=torch.float64)
    for _ in range(steps):
        p = p.detach().requires_grad_(True)
        val = fn(p[0], p[1])
        (g,) = torch.autograd.grad(val, p, create_graph=True)
        h = torch.stack([torch.autograd.grad(g[i], p, retain_graph=True)[0] for i in range(2)])
        try:
            delta = torch.linalg.solve(h, g)
        except RuntimeError:
            return None
        p = (p - delta).detach()
        if not torch.isfinite(p).all():
            return None
        if float(delta.detach().norm()) < 1e-12:
            break
    p = p.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(p[0], p[1]), p, create_graph=True)
    h = torch.stack([torch.autograd.grad(g[i], p, retain_graph=True)[0] for i in range(2)])
    if float(g.detach().norm()) > 1e-6 or float(torch.linalg.eigvalsh(h.detach()).min()) <= 0:
        return None  # a saddle or a maximum, not a minimum
    p = p.detach()
    return float(p[0]), float(p[1])


def surface_grid(surface: Surface, n: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xs (n,), ys (n,) and values Z (n, n) with Z[i, j] = f(xs[j], ys[i])."""
    x0, x1, y0, y1 = surface.domain
    xs = np.linspace(x0, x1, n)
    ys = np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(surface.fn(X, Y), dtype=np.float64) * np.ones_like(X)
    return xs, ys, Z


def surface_gradient(surface: Surface, x: float, y: float) -> tuple[float, float]:
    p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(surface.fn(p[0], p[1]), p)
    return float(g[0]), float(g[1])


def _find_minima(fn: Fn, domain, n: int = 60) -> tuple[tuple[float, float], ...]:
    """Grid cells lower than their 8 neighbours, refined by Newton, deduplicated."""
    x0, x1, y0, y1 = domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        Z = np.asarray(fn(X, Y), np.float64) * np.ones_like(X)
    inner = Z[1:-1, 1:-1]
    is_min = np.ones_like(inner, bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= inner < Z[1 + di : n - 1 + di, 1 + dj : n - 1 + dj]
    found: list[tuple[float, float, float]] = []
    for i, j in zip(*np.nonzero(is_min)):
        p = refine_minimum(fn, (xs[j + 1], ys[i + 1]))
        if p is None or not (x0 <= p[0] <= x1 and y0 <= p[1] <= y1):
            continue
        if all(math.dist(p, q[:2]) > 1e-3 * max(x1 - x0, 1) for q in found):
            found.append((p[0], p[1], float(fn(torch.tensor(p[0]), torch.tensor(p[1])))))
    found.sort(key=lambda q: q[2])
    return tuple((a, b) for a, b, _ in found[:8])


def make_surface(name: str, *, condition: float = 10.0, formula: str = "") -> Surface:
    """The named surface; ``custom`` parses ``formula`` (ExpressionError if refused)."""
    if name == "custom":
        return _custom_surface(formula)
    if name not in _BUILTIN:
        raise ValueError(f"Unknown surface {name!r}; choose one of {', '.join(SURFACES)}")
    label, (fn, grad), domain, start, approx, note = _BUILTIN[name]
    if name == "quadratic":
        if not 1.0 <= condition <= 1000.0:
            raise ValueError(f"Condition number must be between 1 and 1000, got {condition:g}")
        fn, grad = _quadratic(condition)
        label = f"Elongated bowl (condition {condition:g})"
    minima = tuple(p for p in (refine_minimum(fn, q) for q in approx) if p is not None)
    return Surface(name, label, fn, domain, start, minima, _floor(fn, domain, minima), note, grad=grad)


def _floor(fn: Fn, domain, minima) -> float:
    values = [float(fn(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64))) for a, b in minima]
    xs = np.linspace(domain[0], domain[1], 101)
    ys = np.linspace(domain[2], domain[3], 101)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        grid_min = float(np.nanmin(np.asarray(fn(X, Y), np.float64) * np.ones_like(X)))
    return min([grid_min, *values])


def _custom_surface(formula: str) -> Surface:
    fn = parse_expression(formula, ("x", "y"))
    domain = CUSTOM_DOMAIN
    x0, x1, y0, y1 = domain
    xs, ys = np.linspace(x0, x1, 121), np.linspace(y0, y1, 121)
    X, Y = np.meshgrid(xs, ys)
    try:
        with np.errstate(all="ignore"):
            Z = np.asarray(fn(X, Y), np.float64) * np.ones_like(X)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ExpressionError(f"The formula cannot be evaluated: {exc}") from None
    bad = ~np.isfinite(Z)
    if bad.any():
        j = np.argwhere(bad)[0]
        raise ExpressionError(
            f"The formula is not finite everywhere on [{x0:g}, {x1:g}]²"
            f" (e.g. at x = {xs[j[1]]:.2f}, y = {ys[j[0]]:.2f}); use abs() or add a constant inside log/sqrt"
        )
    minima = _find_minima(fn, domain)
    start = (x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0))
    floor = min(float(Z.min()), *(float(fn(torch.tensor(a), torch.tensor(b))) for a, b in minima)) if minima else float(Z.min())
    return Surface("custom", f"f(x, y) = {formula.strip()}", fn, domain, start, minima, floor, "", formula.strip())


def check_start(surface: Surface, x: float, y: float) -> None:
    """ValueError (for the start-point control) if the race cannot start at (x, y)."""
    # Beyond float's range an int makes math.isfinite() raise; no map reaches that far.
    if not all(abs(v) < 1e300 and math.isfinite(v) for v in (x, y)):
        raise ValueError("The start point must be two finite numbers")
    if not surface.contains(x, y):
        x0, x1, y0, y1 = surface.domain
        raise ValueError(f"Start ({x:g}, {y:g}) is outside the map: x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]")
    p = torch.tensor([x, y], dtype=torch.float64, requires_grad=True)
    value = surface.fn(p[0], p[1])
    (g,) = torch.autograd.grad(value, p)
    if not (torch.isfinite(value) and torch.isfinite(g).all()):
        raise ValueError(f"The surface has no finite value or gradient at ({x:g}, {y:g}); pick another start")
