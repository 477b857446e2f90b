"""Fixtures every test folder shares."""

import pytest

from tests.helpers import SHARED_DATA


@pytest.fixture
def shared_data(monkeypatch):
    """The real MNIST and IMDB files beside the repository (``../shared/data``), where
    ``chainrule.datasets`` reads them instead of downloading; skips when the folder is absent."""
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip(f"the shared data folder {SHARED_DATA} is absent (CI has it)")
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(SHARED_DATA))
    return SHARED_DATA
