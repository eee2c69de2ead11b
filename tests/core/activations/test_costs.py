from core.activations.costs import CostConfig, measure_costs
from core.engine import Finished, Snapshot, run_headless


def test_cost_measurement_is_relative_to_relu():
    events = run_headless(measure_costs, CostConfig(keys=("tanh", "relu"), elements=10_000, repeats=2))
    snapshots = [e for e in events if isinstance(e, Snapshot)]
    assert isinstance(events[-1], Finished)
    final = snapshots[-1].data
    assert set(final) == {"relu", "tanh"}
    assert final["relu"]["relative_to_relu"] == 1.0
    assert final["tanh"]["ns_per_element"] > 0
