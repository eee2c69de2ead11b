"""The registry of labs. Adding a lab is one line in ``TABS``.

Tab modules import torch; the registry itself does not, so the main window can be
on screen before any of them is imported.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["TabSpec", "TABS", "tab_spec", "load_tab_class"]


@dataclass(frozen=True)
class TabSpec:
    name: str  # used on the command line, in settings and in experiment files
    title: str
    module: str
    class_name: str


TABS: list[TabSpec] = [
    TabSpec("network", "Network builder", "lab.tabs.network.tab", "NetworkTab"),
    TabSpec("images", "Image networks", "lab.tabs.images.tab", "ImagesTab"),
    TabSpec("optimizers", "Optimizer race", "lab.tabs.optimizer_race.tab", "OptimizersTab"),
    TabSpec("activations", "Activations", "lab.tabs.activations.tab", "ActivationsTab"),
    TabSpec("initialization", "Initialization", "lab.tabs.initialization.tab", "InitializationTab"),
    TabSpec("augmentation", "Augmentation", "lab.tabs.augmentation.tab", "AugmentationTab"),
    TabSpec("convolution", "Convolution", "lab.tabs.convolution.tab", "ConvolutionTab"),
    TabSpec("bias_variance", "Bias–variance", "lab.tabs.bias_variance.tab", "BiasVarianceTab"),
]


def tab_spec(name: str) -> TabSpec:
    for spec in TABS:
        if spec.name == name:
            return spec
    raise ValueError(f"No tab {name!r}; choose one of {', '.join(s.name for s in TABS)}")


def load_tab_class(spec: TabSpec):
    return getattr(importlib.import_module(spec.module), spec.class_name)
