"""GPU checks: every lab's main job on CUDA against the same job on the CPU. Skipped
where torch sees no CUDA device (CI and the developers' machines have none)."""

import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device: the GPU checks run only where torch sees one")
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(skip)
