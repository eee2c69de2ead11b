"""Model archives: save, load back, rebuild by kind, and refuse files that are not ours."""

import inspect
import json
import runpy
import zipfile

import pytest
import torch
from torch import nn

from core.model_io import (
    build_model,
    load_model,
    load_model_archive,
    quiet_jit,
    register_model_kind,
    save_model_archive,
)


def _build_mlp(spec):
    sizes = spec["sizes"]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return nn.Sequential(*layers[:-1])


# rebuild.py embeds the builder's own source, renamed as the script expects it.
MLP_SOURCE = inspect.getsource(_build_mlp).replace("def _build_mlp", "def build_model")
register_model_kind("test_mlp", _build_mlp, script_source=lambda spec: MLP_SOURCE)
SPEC = {"kind": "test_mlp", "sizes": [3, 5, 2], "input_shape": [3]}
METRICS = {"epoch": [1, 2, 3], "train_loss": [0.9, 0.5, 0.25], "test_loss": [1.0, 0.7]}


def _model():
    torch.manual_seed(0)
    return build_model(SPEC)


@pytest.mark.parametrize("name", ["saved_model", "saved_model.zip"])
def test_round_trip(tmp_path, name):
    model = _model()
    path = save_model_archive(tmp_path / name, model, SPEC, METRICS, extra={"note": "hi"})
    spec, state, metrics, extra = load_model_archive(path)
    assert spec == SPEC and extra == {"note": "hi"}
    assert metrics == {"epoch": [1.0, 2.0, 3.0], "train_loss": [0.9, 0.5, 0.25], "test_loss": [1.0, 0.7]}
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v)
    rebuilt, *_ = load_model(path)
    x = torch.randn(4, 3)
    assert torch.allclose(rebuilt(x), model(x))


def test_torchscript_and_rebuild_script_give_the_same_outputs(tmp_path, capsys):
    model = _model()
    folder = save_model_archive(tmp_path / "m", model, SPEC, METRICS)
    with quiet_jit():
        scripted = torch.jit.load(str(folder / "model.torchscript.pt"))
    x = torch.zeros(1, 3)
    assert torch.allclose(scripted(x), model(x))
    # Run the generated script as `python rebuild.py` would (in this process: torch is loaded).
    runpy.run_path(str(folder / "rebuild.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "-> output: (1, 2)" in out
    assert f"{model(x)[0, 0].item():.4f}" in out


def test_builder_passed_in_wins_over_registry(tmp_path):
    spec = {"kind": "unregistered_kind", "sizes": [2, 1]}
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 1))
    save_model_archive(tmp_path / "m", model, spec, {}, torchscript=False)
    assert not (tmp_path / "m" / "model.torchscript.pt").exists()
    with pytest.raises(ValueError, match="No model builder"):
        load_model(tmp_path / "m")
    rebuilt, *_ = load_model(tmp_path / "m", builder=lambda s: nn.Sequential(nn.Linear(*s["sizes"])))
    assert torch.equal(rebuilt[0].weight, model[0].weight)


def test_refuses_what_is_not_ours(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_model_archive(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no spec.json"):
        load_model_archive(tmp_path / "empty")
    (tmp_path / "text.zip").write_text("hello")
    with pytest.raises(ValueError, match="neither a model folder nor a zip"):
        load_model_archive(tmp_path / "text.zip")
    other = tmp_path / "other"
    other.mkdir()
    (other / "spec.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a dllab model archive"):
        load_model_archive(other)
    good = save_model_archive(tmp_path / "good", _model(), SPEC, METRICS)
    (good / "state_dict.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="cannot be read as PyTorch weights"):
        load_model_archive(good)
    with zipfile.ZipFile(tmp_path / "foreign.zip", "w") as zf:
        zf.writestr("readme.txt", "not a model")
    with pytest.raises(ValueError, match="no spec.json"):
        load_model_archive(tmp_path / "foreign.zip")
    wrong = save_model_archive(tmp_path / "wrong", _model(), {**SPEC, "sizes": [3, 4, 2]}, {}, torchscript=False)
    torch.save(_model().state_dict(), wrong / "state_dict.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_model(wrong)


def test_does_not_overwrite_a_foreign_folder(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.txt").write_text("precious")
    with pytest.raises(ValueError, match="other files"):
        save_model_archive(tmp_path / "docs", _model(), SPEC, METRICS)
    assert (tmp_path / "docs" / "thesis.txt").read_text() == "precious"
