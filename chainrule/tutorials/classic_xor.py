"""Tutorial 3: the classic ``NeuralNetwork(layers=[2, 2, 1], alpha=0.5)`` class learns XOR, mostly.

The class (``chainrule.classic.NeuralNetwork``) trains one sample at a time with sigmoid units and
the bias trick. Run once, it usually solves XOR. Run from many random starts, it does not always:
with alpha 0.5 and 20,000 epochs, seeds 0 and 19 of 0-19 end in a local minimum here (18 of 20
solve it; with NumPy's global generator such a class solves about 15 of 20), where the network
outputs 0.5 for one input and its saturated sigmoids pass almost no gradient. That is a real
lesson about small sigmoid networks, not a bug.

To try 20 seeds in seconds rather than minutes, the seeds are trained side by side: every
network's weights sit in one batched tensor and each step updates all of them on the same sample.
The networks do not interact, so this is the same arithmetic as training them one by one (the
tests check that it is, step for step).
"""

import chainrule as cr
from chainrule._backend import numpy as np
from chainrule.classic import NeuralNetwork

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def train_side_by_side(seeds, layers=(2, 2, 1), alpha=0.5, epochs=20000):
    """Trains one ``NeuralNetwork(layers, alpha, seed)`` per seed, all at once.

    Returns:
        The trained networks (NeuralNetwork objects), in the order of ``seeds``.
    """
    networks = [NeuralNetwork(list(layers), alpha, seed=s) for s in seeds]
    weights = [np.stack([n.W[i] for n in networks]) for i in range(len(networks[0].W))]  # (seeds, in, out)
    inputs = np.c_[X, np.ones(len(X))][:, None, :]  # (4, 1, 3): the bias trick
    for _ in range(epochs):
        for x, target in zip(inputs, Y):
            tensors = [cr.tensor(w, requires_grad=True) for w in weights]
            a = cr.tensor(np.broadcast_to(x, (len(seeds),) + x.shape))
            for w in tensors:
                a = cr.sigmoid(a @ w)  # (seeds, 1, n) @ (seeds, n, m) -> (seeds, 1, m)
            # each network's own loss; their sum has each network's gradient in its own slice
            (0.5 * ((a - target) ** 2)).sum().backward()
            weights = [w - alpha * t.grad for w, t in zip(weights, tensors)]
    for i, network in enumerate(networks):
        network.W = [w[i] for w in weights]
    return networks


def solved(network, margin=0.25):
    """Whether every output is within ``margin`` of its target: right, and not by a hair (an
    output of 0.499 for a target of 0 rounds correctly but has learned nothing)."""
    return bool((np.abs(network.predict(X) - Y) < margin).all())


def run(seeds=20, epochs=20000, alpha=0.5, print=print):
    """Trains one network with the tutorial's printout, then ``seeds`` networks side by side.

    Returns:
        A dict: ``first`` (the single network's predictions), ``solved`` (a bool per seed) and
        ``failing_seed`` (the first seed that did not solve XOR, or None).
    """
    network = NeuralNetwork([2, 2, 1], alpha=alpha, seed=0)
    print(f"{network}, alpha={alpha}, seed 0, {epochs} epochs:")
    network.fit(X, Y, epochs=epochs, displayUpdate=max(epochs // 10, 1), print=print)
    for x, target, p in zip(X, Y, network.predict(X)):
        print(f"  data={x.astype(int).tolist()}, ground-truth={int(target[0])}, pred={p[0]:.4f}, step={int(p[0] > 0.5)}")

    print(f"\nthe same from {seeds} random starts (seeds 0-{seeds - 1}), trained side by side:")
    networks = train_side_by_side(range(seeds), alpha=alpha, epochs=epochs)
    outcome = [solved(n) for n in networks]
    failed = ", ".join(str(s) for s, ok in enumerate(outcome) if not ok) or "none"
    print(f"solved XOR (every output within 0.25 of its target): {sum(outcome)} of {seeds} seeds "
          f"(failed: {failed})")
    failing = next((s for s, ok in enumerate(outcome) if not ok), None)
    if failing is not None:
        stuck = networks[failing]
        inputs = np.c_[X, np.ones(len(X))]
        print(f"seed {failing} is stuck: loss {stuck.calculate_loss(inputs, Y):.4f}, predictions "
              f"{np.round(stuck.predict(X).ravel(), 3).tolist()} for targets {Y.ravel().astype(int).tolist()}")
        print("  its sigmoids are saturated, so every further gradient is tiny: a local minimum")
    return {"first": network.predict(X).ravel(), "solved": outcome, "failing_seed": failing}


main = run
