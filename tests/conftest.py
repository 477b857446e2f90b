"""Fixtures every test folder shares, and the references' settings."""

import importlib.util

import pytest

from tests.helpers import SHARED_DATA


def pytest_configure(config):
    # PyTorch 2.13's oneDNN convolution corrupts the heap in its backward for a 1x1 kernel with
    # stride 2 on float32 inputs on this project's machines ("double free or corruption", the
    # test process aborts; 300 calls of F.conv2d(x, w, stride=2).backward() crash every time
    # here, and not one with oneDNN off). The references run on PyTorch's own kernels instead.
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.backends.mkldnn.enabled = False


@pytest.fixture
def shared_data(monkeypatch):
    """The real MNIST and IMDB files beside the repository (``../shared/data``), where
    ``chainrule.datasets`` reads them instead of downloading; skips when the folder is absent."""
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip(f"the shared data folder {SHARED_DATA} is absent (CI has it)")
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(SHARED_DATA))
    return SHARED_DATA
