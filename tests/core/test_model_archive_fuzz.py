"""Damaged and hostile model archives are refused with one readable ValueError, whatever
is wrong with them: bytes flipped or cut, JSON nested or mistyped, specs that build
nothing, weights of another network under a valid spec."""

import io
import json
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.images.models import preset_layers
from core.images.training import SPEC_KIND, model_from_spec
from core.model_io import load_model, save_model_archive
from core.network.model import NetworkSpec, build_network

IMAGE_SPEC = {"kind": SPEC_KIND, "layers": preset_layers("small_cnn"), "input_shape": [1, 16, 16],
              "classes": ["a", "b"], "mean": [0.5], "std": [0.25]}
NETWORK_SPEC = NetworkSpec(features=("x1", "x2"), hidden=(3,), activations=("tanh",), dropout=(0.0,), batchnorm=(False,)).model_spec()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archives")
    image = save_model_archive(folder / "image.zip", model_from_spec(IMAGE_SPEC), IMAGE_SPEC, {"acc": [0.5]}, torchscript=False)
    network = save_model_archive(folder / "network.zip", build_network(NETWORK_SPEC), NETWORK_SPEC, {"acc": [0.5]}, torchscript=False)
    return {"image": image.read_bytes(), "network": network.read_bytes()}


def load_only_refuses(path) -> None:
    try:
        load_model(path)
    except ValueError as exc:
        assert str(exc).strip(), "a refusal says why"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["image", "network"]), edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_flipped_or_cut_bytes(archives, tmp_path, kind, edits, cut):
    data = bytearray(archives[kind])
    for where, value in edits:
        data[int(where * (len(data) - 1))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path / "broken.zip"
    path.write_bytes(bytes(data))
    load_only_refuses(path)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=10,
)


def rewrite_spec(source: bytes, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith("spec.json"):
                header = json.loads(data)
                change(header["spec"])
                data = json.dumps(header).encode()
            zout.writestr(info.filename, data)
    return out.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["image", "network"]), key=st.sampled_from(
    ["layers", "input_shape", "classes", "mean", "std", "features", "hidden", "activations", "task", "loss", "n_outputs", "dropout", "batchnorm"]),
    value=JSON_VALUES)
def test_mistyped_spec_fields(archives, tmp_path, kind, key, value):
    def change(spec):
        spec[key] = value

    path = tmp_path / "mistyped.zip"
    path.write_bytes(rewrite_spec(archives[kind], change))
    load_only_refuses(path)


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(input_shape=[-1, 16, 16]), "image.zip: "),
    (lambda s: s.update(classes=[1, 2]), "image.zip: "),
    (lambda s: s.update(layers=preset_layers("lenet5")), "weights do not fit"),
])
def test_image_specs_that_cannot_hold_the_weights(archives, tmp_path, change, message):
    path = tmp_path / "image.zip"
    path.write_bytes(rewrite_spec(archives["image"], change))
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_deeply_nested_spec_json(archives, tmp_path):
    def change(spec):
        pass

    data = rewrite_spec(archives["network"], change)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            payload = zin.read(info)
            if info.filename.endswith("spec.json"):
                payload = b"[" * 100_000 + b"]" * 100_000
            zout.writestr(info.filename, payload)
    path = tmp_path / "nested.zip"
    path.write_bytes(out.getvalue())
    with pytest.raises(ValueError):
        load_model(path)
