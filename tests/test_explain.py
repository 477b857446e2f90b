"""explain: the backward pass printed as a derivation; the classic worked example's numbers."""

import importlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.tutorials import worked_example

explain_module = importlib.import_module("chainrule.explain")  # cr.explain is the function


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


def _primitives():
    from chainrule.autograd import Function

    found, todo = set(), [Function]
    while todo:
        for cls in todo.pop().__subclasses__():
            if cls not in found:
                found.add(cls)
                todo.append(cls)
    # the library's own; test modules may define primitives of their own
    return sorted((cls for cls in found if cls.__module__.startswith("chainrule.")), key=lambda cls: cls.__name__)


def _balanced(text):
    depth = 0
    for char in text:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("primitive", _primitives(), ids=lambda cls: cls.__name__)
def test_every_primitive_rule_prints_cleanly(primitive):
    definition, rules = explain_module._rules(primitive.__new__(primitive))
    assert definition and _balanced(definition) and "``" not in definition and "  " not in definition
    assert definition == definition.strip() and definition[-1] not in ".,;:" and "NOTE:" not in definition
    for name, rule in rules.items():
        assert rule.startswith(f"dz/d{name}") and _balanced(rule), rule
        assert rule[-1] not in ".,;:" and "``" not in rule and "NOTE:" not in rule, rule
        assert ";" not in rule and "  " not in rule and rule == rule.strip(), rule


def test_rules_go_to_the_input_they_name():
    from chainrule.primitives import elementwise, linalg, movement, nn, recurrent

    def rule(primitive, index):
        return explain_module._rule_for(primitive.__new__(primitive), index)

    assert rule(linalg.MatMul, 0) == "dz/dx = grad @ y^T"
    assert rule(linalg.MatMul, 1) == "dz/dy = x^T @ grad"
    assert rule(linalg.Linear, 2) == "dz/db = grad summed over all axes but the last"
    assert rule(elementwise.Where, 2) == "dz/dy = [not condition]"  # inputs: condition, x, y
    assert rule(movement.Embedding, 0).startswith("dz/dw = ")
    assert rule(movement.Concatenate, 3).startswith("dz/dx_i = ")
    assert rule(nn.CategoricalCrossEntropy, 0).startswith("dz/dp_j = (sum_k y_k m_k - y_j m_j / q_j) / S")
    assert rule(nn.CategoricalCrossEntropy, 1) == "dz/dy = -log q"
    assert rule(nn.SigmoidCrossEntropy, 1) == "dz/dy = -x"
    assert rule(elementwise.Relu, 0) == "dz/dx = 1 if x > 0 else 0 (relu'(0) := 0, as in PyTorch)"
    assert rule(recurrent.LSTMSequence, 1) is None  # its docstring gives the backward as steps


def test_names_results_and_leaves_and_shows_this_backwards_share():
    x = cr.tensor(np.ones((2, 3)), requires_grad=True)  # unnamed
    w = cr.tensor(np.ones((3, 1)), requires_grad=True)
    w.name = "w"
    w.grad = np.full((3, 1), 10.0)  # left over from an earlier backward
    lines = []
    cr.explain((x @ w * 2.0).sum(), print=lines.append)
    text = "\n".join(lines)
    assert "?" not in text
    assert lines[1].startswith("[1] loss = Sum(t2)")
    assert "[3] t1 = MatMul(leaf1, w)" in text
    assert "      dz/dy = x^T @ grad:  dloss/dw = [4, 4, 4]" in text
    assert "  dloss/dleaf1 = [2, 2, 2, 2, 2, 2]" in text
    assert lines[-1] == ("  dloss/dw = [4, 4, 4]; w.grad held [10, 10, 10] before this backward, "
                         "so it is now [14, 14, 14]")
    np.testing.assert_array_equal(w.grad.ravel(), [14.0, 14.0, 14.0])


def test_a_summed_leaf_gradient_shows_this_backwards_terms():
    w = cr.tensor(3.0, dtype="float64", requires_grad=True)
    w.name = "w"
    w.grad = np.array(100.0)
    lines = []
    cr.explain(w * 2.0 + w * 5.0, print=lines.append)
    assert lines[-1] == "  dloss/dw = 5 + 2 = 7; w.grad held 100 before this backward, so it is now 107"


def test_layer_weights_are_named_by_their_path():
    from chainrule.layers import Dense
    from chainrule.models import Sequential

    model = Sequential([Dense(2, input_shape=(3,)), Dense(1)])
    lines = []
    cr.explain(cr.mean(model(np.ones((1, 3))) ** 2), print=lines.append)
    leaves = lines[lines.index("gradients of the leaves:") + 1:]
    first, second = (layer.name for layer in model.layers)  # dense, dense_1 in a fresh session
    assert [line.split(" = ")[0] for line in leaves] == [
        f"  dloss/d{first}/kernel", f"  dloss/d{first}/bias", f"  dloss/d{second}/kernel", f"  dloss/d{second}/bias"]


def _named(array, name):
    t = cr.tensor(array, dtype="float64", requires_grad=True)
    t.name = name
    return t


def test_a_convolutional_graph_gets_a_named_rule_for_each_node():
    tensor_module = importlib.import_module("chainrule.tensor")
    rng = np.random.default_rng(0)
    data = {"x": rng.normal(size=(2, 6, 6, 1)), "w": rng.normal(size=(2, 2, 1, 3)), "b": rng.normal(size=(3,))}

    def loss(explained, lines=None):
        x, w, b = (_named(data[name], name) for name in ("x", "w", "b"))
        y = tensor_module.conv(x, w, bias=b)  # (2, 5, 5, 3)
        y.name = "y"
        z, _, _ = tensor_module.normalize_moments(y, (0, 1, 2))
        pooled = tensor_module.max_pool(z, 2) * 2.0 + tensor_module.average_pool(z, 2)  # (2, 2, 2, 3)
        out = (pooled * pooled).sum()
        if explained:
            cr.explain(out, print=lines.append)
        else:
            out.backward()
        return [t.grad for t in (x, w, b)]

    lines = []
    explained, plain = loss(True, lines), loss(False)
    for a, b in zip(explained, plain):
        np.testing.assert_array_equal(a, b)
    text = "\n".join(lines)
    for line in (
        "y = Conv(x, w, b)    z[n, o, j] = sum_{k, c} xpad[n, o * s + k * d, c] w[k, c, j] + b[j]",
        "= MaxPool(t1)    z[o] = max of x over window o (padding -inf, never chosen)\n",
        "= AveragePool(t1)    z[o] = sum of x over window o / its count of real (unpadded) entries\n",
        "t1 = Normalize(y)    z = (x - mean(x)) / sqrt(var(x) + epsilon), the biased variance, over axes\n",
        ("      dz/dx = grad[o] at the window's first maximum (window order, as PyTorch), 0 elsewhere, overlapping "
         "windows add up:  dloss/dt1 = <(2, 5, 5, 3), norm "),
        "      dz/dx = sum over the windows o holding x of grad[o] / count[o]:  dloss/dt1 = <(2, 5, 5, 3)",
        "      dz/dx = (grad - mean(grad) - z mean(grad z)) / sqrt(var(x) + epsilon), the means over axes:  dloss/dy",
        "      dz/db = grad summed over all axes but the last:  dloss/db = [",
    ):
        assert line in text, line
    for rule in ("dz/dx", "dz/dw"):  # the convolution's rules for the input and the kernel are printed
        assert any(row.startswith(f"      {rule} = ") and f":  dloss/d{rule[-1]} = <" in row for row in lines), rule
    assert "local derivative" not in text


def test_a_broadcast_gradient_is_shown_summed_to_the_input_shape():
    x, b = _named(np.arange(6.0).reshape(2, 3), "x"), _named(np.zeros(3), "b")
    lines = []
    cr.explain((x + b).sum() + (x * b).sum(), print=lines.append)
    text = "\n".join(lines)
    # the rule's value is at the broadcast shape (2, 3); the engine sums it to b's shape (3,)
    assert "dz/dy = 1:  dloss/db = [1, 1, 1, 1, 1, 1] summed over the broadcast axes = [2, 2, 2]" in text
    assert "dz/dy = x:  dloss/db = [0, 1, 2, 3, 4, 5] summed over the broadcast axes = [3, 5, 7]" in text
    assert "  dloss/db = [3, 5, 7] + [2, 2, 2] = [5, 7, 9]" in lines  # terms of b's own shape
    np.testing.assert_array_equal(b.grad, [5.0, 7.0, 9.0])


def test_a_clause_after_a_rule_stays_with_that_rule():
    from chainrule.primitives import pooling

    definition, rules = explain_module._rules(pooling.MaxPool.__new__(pooling.MaxPool))
    assert "overlapping" not in definition
    assert rules["x"].endswith("0 elsewhere, overlapping windows add up")
