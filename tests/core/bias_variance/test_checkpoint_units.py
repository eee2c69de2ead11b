"""The speed the window shows for a bias–variance run counts what its checkpoints are."""

from dataclasses import replace

from core.bias_variance.config import BiasVarConfig
from core.bias_variance.job import biasvar_job
from core.engine import RunControl, checkpoint_unit


def checkpoints_of(cfg) -> int:
    ctl = RunControl()
    for _ in biasvar_job(cfg, ctl):
        pass
    return ctl.checkpoints


def test_an_mlp_run_checks_in_once_per_epoch():
    cfg = replace(BiasVarConfig(), family="mlp", epochs=40, m=8, n=20)
    assert checkpoint_unit(biasvar_job, cfg) == "epochs"
    assert checkpoints_of(cfg) == 40 + 1  # the epochs, and one before the data is drawn


def test_a_closed_form_sweep_checks_in_once_per_setting():
    cfg = replace(BiasVarConfig(), analysis="learning", sizes=(10, 20, 40), m=20)
    assert checkpoint_unit(biasvar_job, cfg) == "sizes"
    assert checkpoints_of(cfg) == 3
