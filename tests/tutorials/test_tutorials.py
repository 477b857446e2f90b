"""Each tutorial's numbers: its printed lines against the published values or a closed form."""

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import tutorials
from chainrule.tutorials import chain_rule, hand_derived, one_weight, perceptron, step_by_step, vanishing_gradients


def _lines(run, **kwargs):
    lines = []
    result = run(print=lines.append, **kwargs)
    return lines, result


def test_one_weight_prints_the_published_numbers():
    lines, result = _lines(one_weight.run)
    assert lines[0] == "Prediction before training: f(5) = 0.0"
    assert lines[1] == "epoch 1: w = 0.300, loss = 30.00000000"
    assert lines[10] == "epoch 10: w = 1.606, loss = 1.60939229"
    assert lines[11] == "Prediction after training: f(5) = 8.031"
    assert [round(loss, 8) for loss in result["losses"][:5]] == [30.0, 21.675, 15.6601875, 11.31448547, 8.17471575]
    # every epoch against the closed form: w <- 0.85 w + 0.3 and loss = 7.5 (w - 2)^2
    w = 0.0
    for epoch in range(1, 11):
        loss = 7.5 * (w - 2.0) ** 2
        w = 0.85 * w + 0.3
        assert lines[epoch] == f"epoch {epoch}: w = {w:.3f}, loss = {loss:.8f}"
    assert len(lines) == 12


def test_hand_derived_gradients_equal_autodiff_and_the_network_learns_2x():
    lines, result = _lines(hand_derived.run)
    assert result["largest_difference"] < 1e-12
    assert abs(result["slope"] - 2.0) < 1e-9
    assert any("dloss/dw1 = e w3 x" in line for line in lines)
    assert "gradient of input 0" in result["caught"] and "is wrong at index (0,)" in result["caught"]


def test_hand_rules_directly():
    w, x, y = (1.0, 2.0, 3.0, 2.0), 5.0, 10.0
    (d1, d2, d3, d4), loss = hand_derived.hand_gradients(w, x, y)
    e = 7 * x - y  # the network computes (w1 w3 + w2 w4) x = 7x
    assert (d1, d2, d3, d4) == (e * 3 * x, e * 2 * x, e * x, e * 2 * x) and loss == 0.5 * e * e


def test_perceptron_learns_and_or_not_but_not_xor():
    lines, results = _lines(perceptron.run)
    for gate in ("AND", "OR", "NOT"):
        learned, mistakes, predictions = results[gate]
        assert learned and mistakes[-1] == 0 and predictions == perceptron.GATES[gate][1]
    learned, mistakes, _ = results["XOR"]
    assert not learned and len(mistakes) == 100 and min(mistakes) > 0
    assert perceptron.step_gradient().tolist() == [0.0, 0.0, 0.0, 0.0]
    assert "not linearly separable" in lines[-1]


def test_chain_rule_and_gradient_descent():
    lines, result = _lines(chain_rule.run)
    assert result["f"] == 125.0 and result["f_prime_by_hand"] == 300.0 and result["f_prime_autodiff"] == 300.0
    assert abs(result["x"]) < 1e-8
    assert math.isclose(result["x"], 10 * 0.8**100, rel_tol=1e-9)


def test_registry_and_command():
    assert tutorials.names() == ["one-weight", "hand-derived", "classic-xor", "perceptron", "step-by-step",
                                "chain-rule", "vanishing-gradients", "worked-example", "mnist", "imdb", "convnet"]
    with pytest.raises(ValueError, match="unknown tutorial 'xor'; expected one of one-weight"):
        tutorials.get("xor")
    listed = subprocess.run([sys.executable, "-m", "chainrule", "tutorial", "--list"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].startswith("one-weight")
    ran = subprocess.run([sys.executable, "-m", "chainrule", "tutorial", "one-weight"],
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and "Prediction after training: f(5) = 8.031" in ran.stdout
    bad = subprocess.run([sys.executable, "-m", "chainrule", "tutorial", "xor"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("chainrule tutorial: unknown tutorial")
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("script", ["tutorial_1_one_weight.py", "tutorial_2_hand_derived.py",
                                    "tutorial_4_perceptron.py", "tutorial_6_chain_rule.py",
                                    "explain_worked_example.py", "tutorial_7_vanishing_gradients.py"])
def test_example_scripts_run(script, tmp_path):
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, str(root / "examples" / script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_step_by_step_numbers_by_hand(tmp_path):
    lines, result = _lines(step_by_step.run, plots=str(tmp_path), steps=3000)
    # an independent computation of the first step
    x, y = np.array([[0.1, 0.2]]), 0.3
    w1, w2 = step_by_step.W1, step_by_step.W2
    hidden = 1 / (1 + np.exp(-x @ w1))
    output = 1 / (1 + np.exp(-hidden @ w2))
    delta = (output - y) * output * (1 - output)
    assert result["loss"] == pytest.approx(0.5 * (output.item() - y) ** 2, rel=1e-12)
    np.testing.assert_allclose(result["W2"], w2 - 0.1 * hidden.T @ delta, rtol=1e-12)
    np.testing.assert_allclose(result["W1"], w1 - 0.1 * x.T @ ((delta @ w2.T) * hidden * (1 - hidden)), rtol=1e-12)
    for hand, auto in zip(result["hand"], result["autodiff"]):
        np.testing.assert_allclose(hand, auto, rtol=1e-12)
    assert "  loss = 1/2 (output - y)^2 = 0.1158362933" in lines
    assert (np.round(result["xor_predictions"]) == [0, 1, 1, 0]).all()
    for name in ("xor_loss.png", "xor_boundary.png"):
        assert (tmp_path / name).stat().st_size > 5000


def test_vanishing_gradients_sigmoid_against_relu(tmp_path):
    lines, result = _lines(vanishing_gradients.run, plots=str(tmp_path))
    sigmoid, relu = result["sigmoid"], result["relu"]
    assert len(sigmoid) == len(relu) == 10
    assert sigmoid[0] / sigmoid[-1] < 1e-4  # each sigmoid layer passes on at most 1/4 of the gradient
    assert relu[0] / relu[-1] > 1e-2
    assert all(a < b for a, b in zip(sigmoid, sigmoid[1:]))  # shrinking all the way down
    assert (tmp_path / "gradient_flow.png").is_file()
