import os
import sys

import pytest
import torch

import mmdarts  # noqa: F401  (registries and stack fixes, as every user gets them)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield
