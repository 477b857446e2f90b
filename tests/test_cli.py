"""The chainrule command: the demo tour, tutorials, training, and one-line errors with status 2."""

import subprocess
import sys
from pathlib import Path

import pytest

from chainrule import cli, demo
from tests.helpers import SHARED_DATA



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


def test_train_mnist_one_epoch(tmp_path, capsys, shared_data):
    assert cli.main(["train", "mnist", "--epochs", "1", "--seed", "0", "--plot", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "Test loss:" in out and (tmp_path / "m.png").is_file()


def test_version_and_help():
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == "0.1.0"
    for args in (["--help"], ["train", "--help"], ["tutorial", "--help"]):
        assert _run(*args).returncode == 0


# --- Ctrl-C: one line, status 130, no files ----------------------------------------------------


def _interrupt_when(command, marker, cwd, timeout=120):
    """Runs ``python command...``, sends SIGINT once ``marker`` is printed, and returns
    ``(status, stdout, stderr)``; bounded by ``timeout`` seconds in all."""
    import os
    import signal
    import threading

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "CHAINRULE_DATA_DIR": str(SHARED_DATA),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd)
    out, seen = [], threading.Event()

    def read():
        for line in process.stdout:
            out.append(line)
            if marker in line:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(timeout), f"{marker!r} never came: {''.join(out)}"
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    return status, "".join(out), process.stderr.read()


def _needs_data():
    if not (SHARED_DATA / "mnist.npz").is_file():
        pytest.skip("the shared data folder is absent (CI has it)")


def test_ctrl_c_during_training_prints_one_line_and_exits_130(tmp_path):
    _needs_data()
    status, out, err = _interrupt_when(["-m", "chainrule", "train", "mnist", "--epochs", "50", "--batch-size", "16",
                                        "--plot", "curves.png"], "Epoch 1/50", tmp_path)
    assert (status, err) == (130, "chainrule train: interrupted\n"), err
    assert "Test loss" not in out and list(tmp_path.iterdir()) == []


def test_ctrl_c_while_loading_data_prints_one_line_and_exits_130(tmp_path):
    _needs_data()
    script = ("import sys, time\n"
              "from chainrule.cli import main\n"
              "from chainrule.datasets import mnist\n"
              "load = mnist.load_data\n"
              "def slow_load(*args, **kwargs):\n"
              "    print('loading', flush=True)\n"
              "    for _ in range(1000):\n"
              "        data = load(*args, **kwargs)\n"
              "    return data\n"
              "mnist.load_data = slow_load\n"
              "sys.exit(main(['train', 'mnist', '--plot', 'curves.png']))\n")
    status, out, err = _interrupt_when(["-c", script], "loading", tmp_path)
    assert (status, err) == (130, "chainrule train: interrupted\n"), err
    assert "Epoch" not in out and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["train", "mnist"], ["demo"], ["tutorial", "one-weight"]])
def test_ctrl_c_in_any_command_exits_130(command, monkeypatch, capsys):
    from chainrule.tutorials import keras_programs, one_weight

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_programs, "mnist", interrupted)
    monkeypatch.setattr(demo, "main", interrupted)
    monkeypatch.setattr(one_weight, "run", interrupted)
    with pytest.raises(SystemExit) as exit:
        cli.main(command)
    assert exit.value.code == 130
    assert capsys.readouterr().err == f"chainrule {command[0]}: interrupted\n"


# --- paths for plots, checked before the work --------------------------------------------------


@pytest.fixture
def no_training(monkeypatch):
    from chainrule.tutorials import keras_programs

    def refuse(*args, **kwargs):
        raise AssertionError("the work started before the plot path was checked")

    for name in ("mnist", "imdb"):
        monkeypatch.setattr(keras_programs, name, refuse)
    monkeypatch.setattr(demo, "main", refuse)


def _exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit.value.code == 2 and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("plot, message", [
    ("missing/m.png", "the folder '{tmp}/missing' does not exist"),
    (".", "it is a folder; give a file name such as '{tmp}/plot.png'"),
    ("m.xyz", "matplotlib does not write '.xyz' files; use one of "),
])
def test_train_checks_the_plot_path_before_training(plot, message, tmp_path, capsys, no_training):
    pytest.importorskip("matplotlib")
    err = _exits_2(["train", "imdb", "--plot", str(tmp_path / plot)], capsys)
    assert err.startswith("chainrule train: cannot write the plot ")
    assert message.format(tmp=tmp_path) in err


def test_train_plot_without_matplotlib_fails_before_training(monkeypatch, tmp_path, capsys, no_training):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    err = _exits_2(["train", "mnist", "--plot", str(tmp_path / "m.png")], capsys)
    assert "plotting needs matplotlib" in err


@pytest.mark.parametrize("command", [["demo"], ["tutorial", "step-by-step"]])
def test_plots_folder_is_checked_before_the_work(command, tmp_path, capsys, no_training, monkeypatch):
    from chainrule.tutorials import step_by_step

    def ran(plots=None, print=print):
        pytest.fail("the tutorial ran")

    monkeypatch.setattr(step_by_step, "run", ran)
    (tmp_path / "file").write_text("")
    err = _exits_2([*command, "--plots", str(tmp_path / "file")], capsys)
    assert f"cannot write plots in '{tmp_path}/file': it is a file, not a folder" in err
    err = _exits_2([*command, "--plots", str(tmp_path / "file" / "deeper")], capsys)
    assert f"cannot write plots in '{tmp_path}/file/deeper': '{tmp_path}/file' is a file, not a folder" in err


def test_a_closed_output_pipe_ends_quietly():
    import os

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen([sys.executable, "-m", "chainrule", "tutorial", "--list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    process.stdout.close()  # the reader is gone before the first line is written (| head -0)
    try:
        err = process.stderr.read().decode()
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (status, err) == (141, "")
