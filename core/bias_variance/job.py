"""The lab's one job: ``biasvar_job(cfg, ctl)`` validates the config and runs the
analysis ``cfg.analysis`` names:

- ``fits``, ``complexity`` (the U-curve), ``learning``: see :mod:`core.bias_variance.regression`;
- ``bagging``, ``boosting``, ``cv``, ``early_stopping``: see :mod:`core.bias_variance.ensembles`;
- for ``cfg.task == "classification"``: see :mod:`core.bias_variance.classification`.
"""

from __future__ import annotations

from typing import Iterator

from core.bias_variance import ensembles as ens
from core.bias_variance.classification import classification_job
from core.bias_variance.config import BiasVarConfig, validate
from core.bias_variance.regression import complexity_job, fits_job, learning_job
from core.engine import Event, RunControl, counts

__all__ = ["biasvar_job", "checkpoint_unit_of"]

# What one checkpoint is when no MLP trains: a sweep checks in once per point, bagging
# once per batch of resamples, boosting once per round.
_CLOSED_FORM_UNITS = {"complexity": "settings", "cv": "settings", "learning": "sizes", "bagging": "resample batches",
                      "boosting": "rounds"}


def checkpoint_unit_of(cfg: BiasVarConfig) -> str:
    """An MLP checks in once per epoch (of all M nets at once), and its epochs are all
    but a few checkpoints of a run that trains one."""
    if cfg.analysis == "early_stopping" or cfg.family == "mlp" or (cfg.analysis == "boosting" and cfg.boost_learner == "mlp"):
        return "epochs"
    return _CLOSED_FORM_UNITS.get(cfg.analysis, "fits")


@counts(checkpoint_unit_of)
def biasvar_job(cfg: BiasVarConfig, ctl: RunControl) -> Iterator[Event]:
    """The one job of the tab: validates, then runs ``cfg.analysis``."""
    validate(cfg)
    if cfg.task == "classification":
        yield from classification_job(cfg, ctl)
        return
    jobs = {
        "fits": fits_job,
        "complexity": complexity_job,
        "learning": learning_job,
        "bagging": ens.bagging_job,
        "boosting": ens.boosting_job,
        "cv": ens.cv_job,
        "early_stopping": ens.early_stopping_job,
    }
    yield from jobs[cfg.analysis](cfg, ctl)
