"""Seeded mutations of experiment states, and the one check every mutated state must pass.

Shared by the fuzz test (tests/gui/test_experiment_fuzz.py, a few cases per tab) and the
long fuzz script (tests/bench/bench_fuzz_experiments.py). A case is a preset's state or
the tab's own state with one to three random mutations: wrong types, NaN/inf/huge/negative
numbers, empty and huge strings, missing and extra keys, lists too long or too short,
nested garbage. Applying it must either work, and the tab's state then round-trips, or
raise ValueError with the tab's state exactly as it was.
"""

from __future__ import annotations

import copy
import math
import random
import traceback
from dataclasses import dataclass

__all__ = ["mutate", "try_state", "Outcome", "GARBAGE", "UNNAMED"]

# LabTab's catch-all for a check a tab lacks: a refusal, but one that does not name the field.
UNNAMED = "a value in the experiment is of the wrong kind or size"

GARBAGE = (
    None, True, False, 0, -1, 1, 2, 7, 3.5, -0.0, 1e-300, 1e308, -1e308, 10**30, 10**400, -(10**400),
    math.nan, math.inf, -math.inf, "", "abc", "x" * 10_000, "1e3", "nan", "-5", "relu", "surface",
    [], [1, 2, 3], [[1], [2, "a"]], [None] * 50, {}, {"a": {"b": [1, {"c": None}]}}, {"kind": "sgd"},
)


def _paths(node, prefix=()):
    """Every (path, value) in a nested state, the root included."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _set(root, path, value):
    if not path:
        return value
    parent = root
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return root


def _near(value, rng: random.Random):
    """A value of the same kind that is wrong in its size or sign."""
    if isinstance(value, bool):
        return rng.choice([not value, 0, 1, "true"])
    if isinstance(value, int):
        return rng.choice([-value, value + 1, value - 1, value * 1000, -(2**63), 2**63, 10**12, value + 0.5 if abs(value) < 2**53 else 0.5,
                           str(value)[:100]])
    if isinstance(value, float):
        return rng.choice([-value, value * 1e6, value * 1e-9, value + 1, math.nan, math.inf, -math.inf, int(value) if math.isfinite(value) else 0,
                           str(value)])
    if isinstance(value, str):
        return rng.choice(["", value.upper(), value + "_", value[:1], value * 200, " " + value, "1", "\x00", "é" * 3])
    return rng.choice(GARBAGE)


def _mutate_once(state, rng: random.Random, strings: list[str]):
    path, value = rng.choice(list(_paths(state)))
    op = rng.random()
    if isinstance(value, dict) and op < 0.35:
        if value and rng.random() < 0.6:
            del value[rng.choice(list(value))]
        else:
            value[rng.choice(["extra", "zz", "__class__", *value.keys(), "x" * 300])] = rng.choice(GARBAGE)
        return state
    if isinstance(value, list) and op < 0.45:
        choice = rng.random()
        if choice < 0.3 and value:
            del value[rng.randrange(len(value)):]
        elif choice < 0.6 and value:
            value.extend(copy.deepcopy(value) * rng.choice([1, 3, 40]))
        elif choice < 0.8:
            value.append(rng.choice(GARBAGE))
        else:
            value.clear()
        return state
    if op < 0.55:
        return _set(state, path, _near(value, rng))
    if op < 0.65 and strings:
        return _set(state, path, rng.choice(strings))  # a real choice of the wrong field
    return _set(state, path, copy.deepcopy(rng.choice(GARBAGE)))


def mutate(state, rng: random.Random):
    """A copy of ``state`` with one to three random mutations."""
    out = copy.deepcopy(state)
    strings = sorted({v for _, v in _paths(state) if isinstance(v, str) and len(v) < 40})
    for _ in range(rng.choice([1, 1, 2, 3])):
        out = _mutate_once(out, rng, strings)
    return out


@dataclass
class Outcome:
    kind: str  # "applied", "refused", "half_applied" or "uncaught"
    detail: str = ""


def try_state(tab, state) -> Outcome:
    """Apply ``state`` to ``tab`` and judge what happened (the tab is left as it ends)."""
    before = tab.experiment_state()
    try:
        tab.apply_experiment_state(state)
    except ValueError as exc:
        after = tab.experiment_state()
        if after != before:
            changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            return Outcome("half_applied", f"refused ({exc}) but changed {changed} for state {state!r:.600}")
        return Outcome("refused", str(exc))
    except Exception:
        return Outcome("uncaught", f"state {state!r:.600}\n{traceback.format_exc()}")
    try:
        applied = tab.experiment_state()
        tab.apply_experiment_state(applied)
        again = tab.experiment_state()
    except Exception:
        return Outcome("uncaught", f"its own state after applying {state!r:.600} did not apply back\n{traceback.format_exc()}")
    if again != applied:
        return Outcome("half_applied", f"applied {state!r:.600} but its state does not round-trip: {applied!r:.600} then {again!r:.600}")
    return Outcome("applied")
