"""explain: the backward pass printed as a derivation; the classic worked example's numbers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.tutorials import worked_example


def test_worked_example_golden_numbers():
    lines = []
    result = worked_example.run(print=lines.append)
    assert lines[0] == "backward pass of E_total = 0.298371109, from the output back to the leaves:"
    assert f"{result['E_total']:.9f}" == "0.298371109"
    assert f"{result['weights']['w5']:.8f}" == "0.35891648"
    assert f"{result['weights']['w1']:.9f}" == "0.149780716"
    # the rest of the published updates
    expected = {"w2": 0.19956143, "w3": 0.24975114, "w4": 0.29950229, "w6": 0.408666186,
                "w7": 0.511301270, "w8": 0.561370121}
    for name, value in expected.items():
        assert result["weights"][name] == pytest.approx(value, abs=5e-9)
    text = "\n".join(lines)
    assert "out_h1 feeds 2 operations, so its gradient is the sum:" in text
    assert "dz/dx = z (1 - z):  dE_total/dnet_o1 = 0.74136507 x 0.186815602 = 0.138498562" in text


def test_explain_fills_the_same_gradients_as_backward():
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(3, 4)), rng.normal(size=(4, 2))]

    def loss(explained):
        x, w = (cr.tensor(a, requires_grad=True) for a in data)
        out = cr.tanh(x @ w).sum()
        if explained:
            cr.explain(out, print=lambda line: None)
        else:
            out.backward()
        return x.grad, w.grad

    for a, b in zip(loss(True), loss(False)):
        np.testing.assert_array_equal(a, b)


def test_big_graphs_are_summarized():
    x = cr.tensor(np.ones(50), requires_grad=True)
    x.name = "x"
    y = x
    for _ in range(30):
        y = y * 1.01 + 0.1
    lines = []
    cr.explain(y.sum(), max_nodes=5, print=lines.append)
    assert sum(line.startswith("[") for line in lines) == 5
    assert any(line.startswith("... and 56 more nodes, not shown (") for line in lines)
    assert any("<(50,), norm" in line for line in lines)  # long arrays by shape, norm, first values
    assert lines[-1].startswith("  dloss/dx = <(50,), norm")  # an unnamed root is called loss


def test_backward_explain_flag_and_errors():
    w = cr.tensor(3.0, dtype="float64", requires_grad=True)
    w.name = "w"
    (w * w).backward(explain=True)
    assert w.grad.item() == 6.0
    with pytest.raises(ValueError, match=r"single-element loss, received shape \(2,\)"):
        cr.explain(cr.tensor([1.0, 2.0], requires_grad=True) * 2.0)
