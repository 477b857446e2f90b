"""The chainrule command: the demo tour, tutorials, training, and one-line errors with status 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import cli, demo

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _run(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_demo_tour_prints_each_tutorial_and_writes_plots(tmp_path):
    lines = []
    assert demo.main(plots=str(tmp_path / "plots"), print=lines.append) == 0
    text = "\n".join(lines)
    for marker in ("epoch 10: w = 1.606, loss = 1.60939229", "dloss/dw1 = e w3 x", "output delta = ",
                   "f'(2) = 300", "relu (he_normal): layer 1's gradient is"):
        assert marker in text
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["gradient_flow.png", "xor_boundary.png",
                                                                       "xor_loss.png"]


def test_python_dash_m_chainrule_runs_the_demo(tmp_path):
    done = _run("demo", "--plots", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Prediction after training: f(5) = 8.031" in done.stdout and "plots are in" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "mnist", "--epochs", "0"], "argument --epochs: expected a positive integer, received '0'"),
    (["train", "cifar"], "argument model: invalid choice: 'cifar'"),
    (["tutorial", "xor"], "unknown tutorial 'xor'"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_exits_2_with_one_line(args, message):
    done = _run(*args)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_data_file_exits_2_with_one_line(tmp_path):
    import os

    done = _run("train", "mnist", "--epochs", "1", env={**os.environ, "CHAINRULE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "has no mnist.npz" in done.stderr


def test_train_mnist_one_epoch(tmp_path, monkeypatch, capsys):
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip("the shared data folder is absent (CI has it)")
    monkeypatch.setenv("CHAINRULE_DATA_DIR", str(SHARED_DATA))
    assert cli.main(["train", "mnist", "--epochs", "1", "--seed", "0", "--plot", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "Test loss:" in out and (tmp_path / "m.png").is_file()


def test_version_and_help():
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0"
    for args in (["--help"], ["train", "--help"], ["tutorial", "--help"]):
        assert _run(*args).returncode == 0
