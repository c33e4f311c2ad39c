import os
import sys

import pytest
import torch

import mmdarts  # noqa: F401  (registries and stack fixes, as every user gets them)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` run where CUDA is (``make test-gpu``), and are skipped elsewhere (CI is CPU-only)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device (make test-gpu on a GPU machine)')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
