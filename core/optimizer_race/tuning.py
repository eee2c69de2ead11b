"""A fair race: each optimizer's learning rate tuned for the surface and start first.

Every racer gets a log-spaced grid of learning rates; all (racer, rate) pairs run as
one batched race (so tuning nine optimizers over 13 rates costs about one race of
117 points), and each racer keeps the rate that reaches a minimum in the fewest
steps, or, failing that, ends lowest. Diverged rates never win.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from core.engine import Event, Finished, Message, RunControl, Snapshot, Throttle, counts
from core.optimizer_race.surface_race import RaceConfig, SurfaceRace

__all__ = ["TuningConfig", "tune_job", "lr_grid", "score_rows"]


@dataclass(frozen=True)
class TuningConfig:
    race: RaceConfig
    lr_min: float = 1e-4
    lr_max: float = 10.0
    points: int = 13
    steps: int | None = None  # None: the race's own number of steps (at most 2000)


def lr_grid(lr_min: float, lr_max: float, points: int) -> np.ndarray:
    if not (0 < lr_min < lr_max < 1e3):
        raise ValueError(f"The learning-rate range must satisfy 0 < low < high < 1000, got {lr_min:g} … {lr_max:g}")
    if not 2 <= points <= 40:
        raise ValueError(f"Use between 2 and 40 learning rates, got {points}")
    return np.geomspace(lr_min, lr_max, points)


def score_rows(reached: np.ndarray, escaped: np.ndarray, diverged: np.ndarray, final_gap: np.ndarray) -> np.ndarray:
    """A sortable score per row: lower is better; diverged or non-finite rows are +inf."""
    score = np.where(reached >= 0, reached.astype(float), np.nan)
    score = np.where((reached < 0) & (escaped >= 0), escaped.astype(float), score)
    # not reached: rank after every reaching row, by how far above the floor it ended
    not_done = np.isnan(score)
    with np.errstate(invalid="ignore"):
        score = np.where(not_done, 1e12 + np.log10(np.maximum(final_gap, 1e-300)) + 400, score)
    bad = (diverged >= 0) | ~np.isfinite(final_gap)
    return np.where(bad, np.inf, score)


@counts("iterations")
def tune_job(cfg: TuningConfig, ctl: RunControl) -> Iterator[Event]:
    """Yields progress, then Finished with ``lrs`` (one per racer) and the whole ``table``."""
    grid = lr_grid(cfg.lr_min, cfg.lr_max, cfg.points)
    base = cfg.race
    steps = min(cfg.steps or base.steps, 2000)
    expanded = tuple(dataclasses.replace(s, lr=float(lr)) for s in base.racers for lr in grid)
    race = SurfaceRace(dataclasses.replace(base, racers=expanded, steps=steps))
    throttle = Throttle(20)
    yield Message(f"Trying {len(grid)} learning rates for each of {len(base.racers)} optimizers over {steps} steps")
    while not race.done:
        ctl.checkpoint()
        race.advance()
        if throttle.due():
            yield Snapshot(race.t, "tuning", {"progress": race.t / steps})
    result = race.result()
    final_gap = result.loss[-1] - result.floor
    scores = score_rows(result.reached_at(), result.escaped_at, result.diverged_at, final_gap)
    k = len(grid)
    table = scores.reshape(len(base.racers), k)
    lrs = []
    for row in table:
        best = int(np.argmin(row)) if np.isfinite(row).any() else -1
        lrs.append(float(grid[best]) if best >= 0 else None)
    found = [lr for lr in lrs if lr is not None]
    text = "Tuned: " + ", ".join(
        f"{s.name} η = {lr:.3g}" if lr is not None else f"{s.name}: every rate diverged"
        for s, lr in zip(base.racers, lrs)
    )
    yield Message(text)
    yield Finished({"lrs": lrs, "grid": grid.tolist(), "table": table.tolist(), "all_finite": len(found) == len(lrs)})
