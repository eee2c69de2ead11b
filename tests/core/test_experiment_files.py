
import pytest

from lab.experiments import PRESETS_DIR, Experiment, find_preset, load_experiment, save_experiment
from lab.tabs import TABS


def test_experiment_round_trips(tmp_path):
    exp = Experiment("activations", {"page": "depth", "depth": {"depth": 12}}, "Title", "Why")
    path = save_experiment(exp, tmp_path / "e.json")
    back = load_experiment(path)
    assert back == exp


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not a valid JSON"),
        ('{"format": "other"}', "not a dllab experiment"),
        ('{"format": "dllab-experiment", "version": 99, "tab": "x", "state": {}}', "version 99"),
        ('{"format": "dllab-experiment", "version": 1, "tab": "x"}', "lacks"),
    ],
)
def test_bad_experiment_files_are_refused_with_a_reason(tmp_path, content, message):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_experiment(p)


def test_missing_file_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Cannot read"):
        load_experiment(tmp_path / "nope.json")


def test_every_preset_is_a_valid_experiment_for_a_registered_tab():
    names = {t.name for t in TABS}
    presets = sorted(PRESETS_DIR.glob("*/*.json"))
    assert presets
    for p in presets:
        exp = load_experiment(p)
        assert exp.tab == p.parent.name, p
        assert exp.tab in names, f"{p}: no tab {exp.tab!r} is registered"
        assert exp.title and exp.description, f"{p} needs a title and a description"


def test_presets_are_found_by_short_name():
    assert find_preset("activations/dead_relu").name == "dead_relu.json"
    with pytest.raises(ValueError, match="Known presets"):
        find_preset("activations/nothing_like_this")


def test_an_experiment_file_too_large_to_be_one_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    path.write_bytes(b'{"format": "dllab-experiment", "points": [' + b"0.5, " * 1_000_000 + b"0]}")
    with pytest.raises(ValueError, match=r"huge.json is 4.8 MB; an experiment file is at most 4 MB"):
        load_experiment(path)


def test_a_deeply_nested_file_is_a_readable_refusal(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match="nested too deeply|not a valid JSON"):
        load_experiment(path)
