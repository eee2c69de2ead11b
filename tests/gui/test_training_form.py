"""TrainingForm: the reusable training settings widget (network builder, image lab)."""

import pytest

from core.optimizers import OPTIMIZERS, SCHEDULES
from lab.tabs.training_form import DEFAULT_TRAINING, TrainingForm


def test_defaults_and_round_trip(qtbot):
    form = TrainingForm()
    qtbot.addWidget(form)
    assert form.values() == DEFAULT_TRAINING
    new = {"optimizer": "adam", "lr": 0.001, "batch_size": 32, "regularization": "l2", "reg_rate": 0.01,
           "weight_decay": 0.001, "schedule": "cosine", "patience": 20, "seed": 7}
    with qtbot.waitSignal(form.changed) as blocker:
        form.set_values(new)
    assert blocker.args[0] == new
    assert form.values() == new
    assert set(form.optimizer.itemData(i) for i in range(form.optimizer.count())) == set(OPTIMIZERS)
    assert set(form.schedule.itemData(i) for i in range(form.schedule.count())) == set(SCHEDULES)


def test_bad_values_change_nothing(qtbot):
    form = TrainingForm()
    qtbot.addWidget(form)
    before = form.values()
    for bad in ({"optimizer": "lbfgs"}, {"lr": -1.0, "seed": 3}, {"batch_size": 2.5}, {"seed": 3, "nonsense": 1},
                {"lr": "fast"}):
        with pytest.raises(ValueError):
            form.set_values(bad)
        assert form.values() == before


def test_typing_emits_and_refuses(qtbot):
    form = TrainingForm()
    qtbot.addWidget(form)
    form.show()  # try_text reports refusal through the visible error label
    with qtbot.waitSignal(form.changed) as blocker:
        assert form.lr.try_text("0.1")
    assert blocker.args[0]["lr"] == pytest.approx(0.1)
    assert not form.lr.try_text("abc")
    assert form.values()["lr"] == pytest.approx(0.1)
    qtbot.keyClicks(form.optimizer, "A")  # keyboard selection on the combo
    assert form.values()["optimizer"] in OPTIMIZERS
    assert not form.reg_rate.isEnabled()
    form.regularization.setCurrentIndex(form.regularization.findData("l1"))
    assert form.reg_rate.isEnabled()


def test_max_batch_limits_batch(qtbot):
    form = TrainingForm(values={"batch_size": 100})
    qtbot.addWidget(form)
    form.show()  # try_text reports refusal through the visible error label
    form.set_max_batch(50)
    assert form.values()["batch_size"] == 50
    assert not form.batch_size.try_text("60")
    assert form.batch_size.error.text()
    form.set_max_batch(80)  # a smaller value stays; the slider's end is the new maximum
    assert form.values()["batch_size"] == 50
    form.batch_size.slider.setValue(form.batch_size.slider.maximum())
    assert form.values()["batch_size"] == 80


def test_fields_hide_controls(qtbot):
    form = TrainingForm(fields=("optimizer", "lr", "seed"))
    qtbot.addWidget(form)
    form.show()
    assert form.lr.isVisible() and not form.patience.isVisible()
    assert set(form.values()) == set(DEFAULT_TRAINING)  # values still complete
