"""The classic worked example of backpropagation, traced by ``chainrule.explain``.

A 2-2-2 sigmoid network: inputs 0.05 and 0.10, targets 0.01 and 0.99; weights w1..w4 = 0.15,
0.20, 0.25, 0.30 with bias b1 = 0.35 into the hidden layer, w5..w8 = 0.40, 0.45, 0.50, 0.55
with bias b2 = 0.60 into the output layer; squared error E = sum 1/2 (target - out)^2; one
gradient step at learning rate 0.5. The numbers are those of Matt Mazur's "A Step by Step
Backpropagation Example" (2015): E_total = 0.298371109, and after the step w5 = 0.35891648 and
w1 = 0.149780716 (the biases are updated here too; the original keeps them fixed, which changes
no weight's new value in this first step).
"""

import chainrule as cr

WEIGHTS = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55}
BIASES = {"b1": 0.35, "b2": 0.60}
INPUTS, TARGETS = (0.05, 0.10), (0.01, 0.99)


def _named(value, name, requires_grad=True):
    t = cr.tensor(value, dtype="float64", requires_grad=requires_grad)
    t.name = name
    return t


def network(p, i1, i2):
    """The forward pass, each intermediate named as in the worked example."""
    results = {}
    for h, (wa, wb) in (("h1", ("w1", "w2")), ("h2", ("w3", "w4"))):
        net = p[wa] * i1 + p[wb] * i2 + p["b1"]
        net.name = f"net_{h}"
        results[h] = cr.sigmoid(net)
        results[h].name = f"out_{h}"
    errors = []
    for o, (wa, wb), target in (("o1", ("w5", "w6"), TARGETS[0]), ("o2", ("w7", "w8"), TARGETS[1])):
        net = p[wa] * results["h1"] + p[wb] * results["h2"] + p["b2"]
        net.name = f"net_{o}"
        out = cr.sigmoid(net)
        out.name = f"out_{o}"
        error = 0.5 * (target - out) ** 2
        error.name = f"E_{o}"
        errors.append(error)
    total = errors[0] + errors[1]
    total.name = "E_total"
    return total


def run(learning_rate=0.5, max_nodes=40, print=print):
    """Prints the forward values, the explained backward pass and the updated weights.

    Returns:
        A dict: ``E_total`` and the updated ``weights`` (w1..w8, b1, b2).
    """
    p = {name: _named(v, name) for name, v in {**WEIGHTS, **BIASES}.items()}
    i1, i2 = _named(INPUTS[0], "i1", False), _named(INPUTS[1], "i2", False)
    total = network(p, i1, i2)
    cr.explain(total, max_nodes=max_nodes, print=print)
    updated = {name: t.item() - learning_rate * t.grad.item() for name, t in p.items()}
    print(f"one step at learning rate {learning_rate}: w_new = w - {learning_rate} dE_total/dw")
    for name, value in updated.items():
        print(f"  {name}: {p[name].item():.2f} -> {value:.9f}")
    return {"E_total": total.item(), "weights": updated}


main = run
