"""Long fuzz of experiment files: every lab takes many seeded mutations of its presets and
of its own state (the mutations of tests/experiment_mutations.py, which the default
suite's tests/gui/test_experiment_fuzz.py runs a few of).

Each mutated state must either apply, and the tab's state then round-trip, or raise
ValueError with the tab's state exactly as before. Per lab it reports the cases tried,
applied, refused, uncaught exceptions (the first few tracebacks printed) and half-applied
states (refused after changing the tab, or applied but not round-tripping); of the
refusals, "refused_unnamed" counts those only LabTab's catch-all turned into ValueError
(a check the tab lacks: the message names the lab but not the field).

    python tests/bench/bench_fuzz_experiments.py [--cases N] [--seed S] [--tabs a,b]

The default (1000 cases per lab) takes about 1¼ minutes of CPU time: 1½–3 minutes on two shared cores. The last
line printed is one JSON object: {"cases_per_tab", "seed", "tabs": {name: counts}, "total": counts}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHOWN_TRACEBACKS = 3
KINDS = ("applied", "refused", "uncaught", "half_applied")


def fuzz_tab(name: str, cases: int, seed: int, app) -> dict:
    from core.devices import warm_up
    from lab.experiments import list_presets
    from lab.tabs import load_tab_class, tab_spec
    from lab.tabs.base import LabContext
    from tests.experiment_mutations import UNNAMED, mutate, try_state

    warm_up()
    tab = load_tab_class(tab_spec(name))(LabContext("cpu"))
    tab.resize(1280, 720)
    tab.show()
    counts = {"tried": 0, **{k: 0 for k in KINDS}, "refused_unnamed": 0}
    shown = 0
    t0 = time.perf_counter()
    try:
        seeds = [exp.state for exp in list_presets(name)] + [tab.experiment_state()]
        rng = random.Random(f"{seed}-{name}")
        for i in range(cases):
            outcome = try_state(tab, mutate(seeds[i % len(seeds)], rng))
            app.processEvents()  # what the event loop would run between two files opened
            counts["tried"] += 1
            counts[outcome.kind] += 1
            if outcome.kind == "refused" and UNNAMED in outcome.detail:
                counts["refused_unnamed"] += 1
            if outcome.kind in ("uncaught", "half_applied") and shown < SHOWN_TRACEBACKS:
                shown += 1
                print(f"--- {name} case {i}: {outcome.kind}\n{outcome.detail[-3000:]}", flush=True)
    finally:
        tab.shutdown()
        tab.close()
        tab.deleteLater()
        app.processEvents()
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    return counts


def main() -> None:
    from core.devices import configure_threads
    from lab.app import create_application
    from lab.tabs import TABS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="mutated states per lab (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tabs", default=",".join(t.name for t in TABS), help="comma-separated lab names")
    args = parser.parse_args()

    configure_threads()
    app = create_application()
    results = {}
    for name in args.tabs.split(","):
        results[name] = fuzz_tab(name, args.cases, args.seed, app)
        r = results[name]
        print(f"{name:15s} tried {r['tried']:5d}  applied {r['applied']:5d}  refused {r['refused']:5d}  "
              f"uncaught {r['uncaught']:3d}  half-applied {r['half_applied']:3d}  (unnamed refusals {r['refused_unnamed']}, {r['seconds']} s)", flush=True)
    total = {k: sum(r[k] for r in results.values()) for k in ("tried", *KINDS, "refused_unnamed")}
    print(json.dumps({"cases_per_tab": args.cases, "seed": args.seed, "tabs": results, "total": total}))


if __name__ == "__main__":
    main()
