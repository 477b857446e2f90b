"""The demo that README's first command runs."""

import subprocess
import sys

import numpy as np

from chainrule import demo


def test_demo_learns_xor_and_the_loss_falls():
    lines = []
    losses, predictions = demo.train_xor(out=lines.append)
    assert np.round(predictions).ravel().tolist() == [0.0, 1.0, 1.0, 0.0]  # the XOR truth table
    assert losses[-1] < 0.01 < losses[0]
    assert lines[0].startswith("epoch     1  loss ")
    assert len(lines) == 11  # epoch 1, then every 200


def test_python_dash_m_chainrule_runs_the_demo():
    done = subprocess.run([sys.executable, "-m", "chainrule", "demo"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 xor 1 = 0" in done.stdout and "loss fell from" in done.stdout
