"""`chainrule train NAME --workers N`: the command starts mpirun on itself, and the N-process run
of a program without dropout gives the 1-process run's numbers."""

import importlib.util
import re
import subprocess
import sys

import pytest

from chainrule import cli
from tests.distribution import mpi



def _train(*args, tmp_path):
    env = mpi.environment()  # with the shared_data fixture's CHAINRULE_DATA_DIR
    env.pop("OMPI_ALLOW_RUN_AS_ROOT", None)  # the command sets them itself when run as root
    env.pop("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", None)
    done = subprocess.run([sys.executable, "-m", "chainrule", "train", *args], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_two_workers_give_the_single_process_result(tmp_path, shared_data):
    mpi.require_mpi()
    single = _train("mnist", "--epochs", "1", "--seed", "0", tmp_path=tmp_path)
    double = _train("mnist", "--epochs", "1", "--seed", "0", "--workers", "2", tmp_path=tmp_path)
    pattern = r"Test loss: (\d\.\d{4}), test accuracy: (\d\.\d{4})"
    assert re.findall(pattern, double) == re.findall(pattern, single) != []
    assert double.count("Test loss") == 1  # only rank 0 speaks
    epoch = r"val_accuracy: (\d\.\d{4}) - val_loss: (\d\.\d{4})"
    assert re.findall(epoch, double)[-1] == re.findall(epoch, single)[-1]


def test_workers_without_mpi4py_is_one_line_and_status_2(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "mpi4py" else real(name, *a))
    for name in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "mnist", "--workers", "2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install "chainrule[mpi]"' in err


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_must_be_a_positive_integer(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "mnist", "--workers", value])
    assert exit_info.value.code == 2
    assert "--workers" in capsys.readouterr().err
