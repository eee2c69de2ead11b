"""The convolution tab by real clicks and key presses: stride, step, step back, refusals."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from PySide6.QtCore import Qt

from lab.experiments import PRESETS_DIR, load_experiment
from lab.runner import JobState


@pytest.fixture
def tab(make_tab, qtbot):
    t = make_tab("convolution")
    qtbot.waitUntil(lambda: t.steps is not None, timeout=5000)
    return t


def rebuilt(tab, qtbot, count):
    qtbot.waitUntil(lambda: tab.steps is not None and tab.steps.count == count, timeout=5000)


def type_into(qtbot, spin, text):
    spin.setFocus()
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin.lineEdit(), Qt.Key_Return)


def torch_output(tab):
    s = tab.experiment_state()
    x = torch.tensor(s["input"], dtype=torch.float64)[None]
    w = torch.tensor(s["weight"], dtype=torch.float64)
    b = torch.tensor(s["bias"], dtype=torch.float64)
    return F.conv2d(x, w, b, stride=s["stride"], padding=s["padding"], dilation=s["dilation"])[0].numpy()


def test_set_stride_then_step_and_step_back_by_clicks(tab, qtbot):
    assert tab.steps.count == 9  # 5×5 input, 3×3 kernel
    type_into(qtbot, tab.controls.stride, "2")
    rebuilt(tab, qtbot, 4)
    assert tab.experiment_state()["stride"] == 2
    assert "⌊(5 + 2·0 − 1·(3 − 1) − 1) / 2⌋ + 1 = 2" in tab.info.text()
    for _ in range(3):
        qtbot.mouseClick(tab.play.step_button, Qt.LeftButton)
    assert tab.index == 2 and tab.position.text() == "step 3 / 4"
    out = tab.view.outputs.grids[0]
    expected = torch_output(tab)[0]
    assert out.current == (1, 0)
    assert out.filled.sum() == 3
    np.testing.assert_allclose(out.values[out.filled], expected[out.filled])
    # the receptive field of output (1, 0) is rows 2–4, columns 0–2 of the input
    grid = tab.view.inputs.grids[0]
    assert grid.hl_rows.tolist() == [2, 3, 4] and grid.hl_cols.tolist() == [0, 1, 2]
    assert f"+ bias 0 = {expected[1, 0]:g}</div>" in tab.view.arithmetic.text()
    qtbot.mouseClick(tab.back_button, Qt.LeftButton)
    assert tab.index == 1 and out.current == (0, 1) and out.filled.sum() == 2
    qtbot.mouseClick(tab.end_button, Qt.LeftButton)
    assert tab.index == 3 and out.filled.all()
    np.testing.assert_allclose(out.values, expected)


def test_zero_stride_and_oversized_kernel_are_refused_at_the_control(tab, qtbot):
    before = tab.steps
    type_into(qtbot, tab.controls.stride, "0")
    assert "never move" in tab.controls.errors["stride"].text()
    assert tab.controls.stride.value() == 1 and tab.experiment_state()["stride"] == 1
    type_into(qtbot, tab.controls.kh, "7")
    assert "larger than the padded input" in tab.controls.errors["kh"].text()
    assert tab.controls.kh.value() == 3
    type_into(qtbot, tab.controls.dilation, "3")
    assert "spans 7×7" in tab.controls.errors["dilation"].text()
    assert tab.steps is before  # nothing was rebuilt: the last valid state stays
    type_into(qtbot, tab.controls.padding, "1")
    rebuilt(tab, qtbot, 25)
    assert not tab.controls.errors["stride"].isVisible()


def test_non_numeric_cell_is_refused_at_the_cell(tab, qtbot):
    grid = tab.view.inputs.grids[0]
    old = grid.values[1, 1]
    editor = grid.edit_cell(1, 1)
    qtbot.keyClicks(editor, "abc")
    qtbot.keyClick(editor, Qt.Key_Return)
    assert "'abc' is not a number" in grid.error.text() and grid.error.isVisible()
    assert editor.isVisible() and grid.values[1, 1] == old
    assert tab.experiment_state()["input"][0][1][1] == old
    editor.selectAll()
    qtbot.keyClicks(editor, "-2.5")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: tab.experiment_state()["input"][0][1][1] == -2.5, timeout=3000)
    qtbot.waitUntil(lambda: tab.steps.grid[0, 1, 1] == -2.5, timeout=3000)
    assert not grid.error.isVisible()


def test_kernel_edit_and_backward_mode_by_keyboard(tab, qtbot):
    kgrid = tab.view.kernel.grids[0]
    editor = kgrid.edit_cell(0, 0)
    qtbot.keyClicks(editor, "3")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: tab.steps.kernels[0, 0, 0, 0] == 3.0, timeout=3000)
    tab.controls.direction.setFocus()
    qtbot.keyClick(tab.controls.direction, Qt.Key_Down)  # Backward: ∂L/∂input
    qtbot.waitUntil(lambda: tab.steps.kind == "grad_input", timeout=3000)
    x = torch.tensor(tab.experiment_state()["input"], dtype=torch.float64)[None].requires_grad_()
    w = torch.tensor(tab.experiment_state()["weight"], dtype=torch.float64)
    F.conv2d(x, w).sum().backward()
    np.testing.assert_allclose(tab.steps.result, x.grad[0].numpy())
    qtbot.keyClick(tab.controls.direction, Qt.Key_Down)  # Backward: ∂L/∂kernel
    qtbot.waitUntil(lambda: tab.steps.kind == "grad_kernel", timeout=3000)
    assert tab.steps.count == 9


def test_play_at_full_speed_reaches_the_end(tab, qtbot):
    tab.play.speed_slider.setValue(tab.play.speed_slider.maximum())
    qtbot.mouseClick(tab.play.play_button, Qt.LeftButton)
    assert tab.timer.isActive() and tab.timer.interval() <= 33  # ≥ 30 redraws a second
    qtbot.waitUntil(lambda: tab.index == tab.steps.count - 1, timeout=5000)
    assert not tab.timer.isActive()


def test_state_round_trips_and_bad_state_changes_nothing(tab, qtbot):
    state = tab.experiment_state()
    json.dumps(state)
    with pytest.raises(ValueError, match="larger than the padded input"):
        tab.apply_experiment_state({**state, "weight": np.zeros((1, 1, 7, 7)).tolist()})
    with pytest.raises(ValueError, match="whole number"):
        tab.apply_experiment_state({**state, "stride": "two"})
    assert tab.experiment_state() == state
    changed = {**state, "op": "maxpool", "stride": 2, "window": 2, "step": 1}
    tab.apply_experiment_state(changed)
    rebuilt(tab, qtbot, 4)
    assert tab.experiment_state() == changed and tab.index == 1


def test_image_mode_shows_one_feature_map_per_kernel(tab, qtbot):
    tab.controls.source.setFocus()
    qtbot.keyClick(tab.controls.source, Qt.Key_Down)  # numbers → image
    qtbot.waitUntil(lambda: tab.steps.count == 4 * 24 * 24, timeout=5000)  # four kernels, grey 24×24
    qtbot.mouseClick(tab.controls.gray, Qt.LeftButton)  # colour: three channels
    qtbot.waitUntil(lambda: tab.steps.grid.shape[0] == 3, timeout=5000)
    s = tab.experiment_state()
    assert s["source"] == "image" and len(s["weight"]) == 4
    x, w = torch.tensor(s["input"], dtype=torch.float64), torch.tensor(s["weight"], dtype=torch.float64)
    ref = F.conv2d(x[None], w, padding="same")[0].numpy()
    np.testing.assert_allclose(tab.steps.result, ref, atol=1e-9)
    qtbot.mouseClick(tab.end_button, Qt.LeftButton)
    assert len(tab.view.outputs.grids) == 4 and all(g.filled.all() for g in tab.view.outputs.grids)


def test_presets_reproduce_the_classic_animations_and_export(tab, qtbot, tmp_path):
    names = sorted(p.stem for p in (PRESETS_DIR / "convolution").glob("*.json"))
    assert {"no_padding_no_strides", "padding", "strides", "dilation", "transposed"} <= set(names)
    exp = load_experiment(PRESETS_DIR / "convolution" / "dilation.json")
    tab.apply_experiment_state(exp.state)
    rebuilt(tab, qtbot, 9)
    written = tab.export_views(tmp_path)
    assert [p.name for p in written] == ["stepping.png", "numbers.csv", "stepping.gif", "convolution_tab.png"]
    with Image.open(tmp_path / "stepping.gif") as gif:
        assert gif.n_frames == 1 + 9  # empty start, then nine steps
        first = gif.info["duration"]
        gif.seek(gif.n_frames - 1)
        assert gif.info["duration"] > first  # the finished output is held before looping
    rows = (tmp_path / "numbers.csv").read_text().splitlines()
    assert rows[0].startswith("step,plane,row,col") and len(rows) == 10
    for name in names:
        tab.apply_experiment_state(load_experiment(PRESETS_DIR / "convolution" / f"{name}.json").state)
        qtbot.waitUntil(lambda: tab.runner.state == JobState.FINISHED, timeout=5000)
        assert tab.banner.text() == ""


def test_padding_cells_and_unreadable_images_are_refused_with_a_reason(tab, qtbot, tmp_path):
    type_into(qtbot, tab.controls.padding, "1")
    rebuilt(tab, qtbot, 25)
    grid = tab.view.inputs.grids[0]
    editor = grid.edit_cell(0, 0)  # a padding cell
    qtbot.keyClicks(editor, "9")
    qtbot.keyClick(editor, Qt.Key_Return)
    assert "Padding and inserted zeros follow the input" in grid.error.text()
    assert tab.steps.grid[0, 0, 0] == 0 and grid.values[0, 0] == 0
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    before = tab.experiment_state()
    tab.load_image(str(bad))
    assert "Cannot read not_an_image.png" in tab.controls.errors["input"].text()
    assert tab.experiment_state() == before



def test_gif_is_recorded_between_events_and_written_on_a_worker(tab, qtbot, tmp_path):
    tab.set_index(2)
    with qtbot.waitSignal(tab.gif_recorder.saved, timeout=20000) as saved:
        tab.record_gif(tmp_path / "steps.gif")
        assert tab.gif_recorder.busy
    assert saved.args == [str(tmp_path / "steps.gif")] and "Saved" in tab.banner.text()
    with Image.open(tmp_path / "steps.gif") as gif:
        assert gif.n_frames == 1 + 9
    assert tab.index == 2  # the step shown before the export comes back
    # changing a setting while recording abandons the recording with a reason
    with qtbot.waitSignal(tab.gif_recorder.failed, timeout=5000):
        tab.record_gif(tmp_path / "other.gif")
        type_into(qtbot, tab.controls.stride, "2")
    assert "settings changed" in tab.banner.text() and not (tmp_path / "other.gif").exists()


def test_upstream_gradient_is_typed_in_the_grid(tab, qtbot):
    tab.apply_experiment_state({**tab.experiment_state(), "direction": "grad_kernel"})
    qtbot.waitUntil(lambda: tab.steps.kind == "grad_kernel", timeout=3000)
    editor = tab.view.kernel.grids[0].edit_cell(1, 2)  # the kernel here is ∂L/∂y
    qtbot.keyClicks(editor, "4")
    qtbot.keyClick(editor, Qt.Key_Return)
    qtbot.waitUntil(lambda: tab.experiment_state()["upstream"] == "typed" and tab.steps.kernels[0, 0, 1, 2] == 4, timeout=3000)
    s = tab.experiment_state()
    x = torch.tensor(s["input"], dtype=torch.float64)[None]
    w = torch.tensor(s["weight"], dtype=torch.float64).requires_grad_()
    (F.conv2d(x, w)[0] * torch.tensor(s["upstream_values"])).sum().backward()
    np.testing.assert_allclose(tab.steps.result, w.grad.numpy())
    tab.controls.upstream.setFocus()
    qtbot.keyClick(tab.controls.upstream, Qt.Key_Up)  # typed → random
    qtbot.waitUntil(lambda: tab.experiment_state()["upstream"] == "random", timeout=3000)
    assert tab.experiment_state()["upstream_values"] == []


def test_pooling_ignores_the_greyed_out_padding_mode(tab, qtbot):
    """Reflect padding chosen for a convolution must not block max pooling, which never uses it."""
    state = tab.experiment_state()
    tab.apply_experiment_state({**state, "op": "conv2d", "padding_mode": "reflect", "padding": 1, "window": 2})
    qtbot.waitUntil(lambda: tab.steps is not None and tab.steps.spec.padding_mode == "reflect", timeout=5000)
    combo = tab.controls.op
    combo.showPopup()  # choose from the open list, as a student would
    view = combo.view()
    row = view.visualRect(view.model().index(combo.findData("maxpool"), 0))
    qtbot.mouseClick(view.viewport(), Qt.LeftButton, pos=row.center())
    assert combo.currentData() == "maxpool"
    qtbot.waitUntil(lambda: tab.steps is not None and tab.steps.spec.op == "maxpool", timeout=5000)
    assert not tab.controls.padding_mode.isEnabled()
    assert tab.steps.spec.padding_mode == "zeros"
    assert not any(label.text() for label in tab.controls.errors.values())


def type_text(qtbot, edit, text):
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key_Return)


def test_a_huge_bias_or_cell_is_refused_next_to_its_control(tab, qtbot):
    before = tab.steps
    bias = tab.controls.bias
    type_text(qtbot, bias, "1e300")  # once accepted: every output became 1e300, and products inf
    assert tab.controls.errors["bias"].text() == "'bias': 1e+300 is too large; every value must be between -1e+06 and 1e+06"
    assert tab.controls.errors["bias"].isVisible()
    assert bias.text() == "0" and tab.experiment_state()["bias"] == [0.0]
    assert tab.steps is before
    type_text(qtbot, bias, "-1e6")  # the limit itself is a value
    qtbot.waitUntil(lambda: tab.steps is not before, timeout=5000)
    assert tab.experiment_state()["bias"] == [-1e6] and not tab.controls.errors["bias"].isVisible()
    np.testing.assert_allclose(tab.view.outputs.grids[0].values[tab.view.outputs.grids[0].filled], torch_output(tab)[0][tab.view.outputs.grids[0].filled])

    # The same limit for a typed input cell; the grid goes back to the value in effect.
    grid = tab.view.inputs.grids[0]
    kept = tab.experiment_state()["input"][0][1][1]
    editor = grid.edit_cell(1, 1)
    qtbot.keyClicks(editor, "1e7")
    qtbot.keyClick(editor, Qt.Key_Return)
    assert "1e+07 is too large; every value must be between -1e+06 and 1e+06" in tab.controls.errors["input"].text()
    assert tab.experiment_state()["input"][0][1][1] == kept
    assert grid.values[1, 1] == kept


def test_zero_stride_is_refused_in_a_backward_pass_with_a_random_upstream(tab, qtbot):
    # The output size for the random upstream gradient once divided by the stride first.
    state = {**tab.experiment_state(), "direction": "grad_kernel", "upstream": "random", "upstream_seed": 2}
    tab.apply_experiment_state(state)
    before = tab.experiment_state()
    with pytest.raises(ValueError, match="never move"):
        tab.apply_experiment_state({**state, "stride": 0})
    assert tab.experiment_state() == before
    type_into(qtbot, tab.controls.stride, "0")
    assert "never move" in tab.controls.errors["stride"].text()
    assert tab.experiment_state() == before
