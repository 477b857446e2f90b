import os
from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA

FASHION_DIR = Path("/usr/share/datasets")  # where Debian's dataset-fashion-mnist puts fashion-mnist/


@pytest.fixture(autouse=True)
def isolated_dataset_folders(tmp_path, monkeypatch):
    """No test reads or writes the user's cache, or inherits a data folder from the environment."""
    monkeypatch.setenv("CHAINRULE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHAINRULE_DATA_DIR", raising=False)


@pytest.fixture
def fashion_data(monkeypatch):
    if not (FASHION_DIR / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST is absent: install Debian's package dataset-fashion-mnist (CI does)")
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(FASHION_DIR))
    return FASHION_DIR / "fashion-mnist"


def pytest_report_header(config):
    return [f"shared data: {SHARED_DATA if SHARED_DATA.is_dir() else 'absent'}; CHAINRULE_DATA_DIR={os.environ.get('CHAINRULE_DATA_DIR')}"]
