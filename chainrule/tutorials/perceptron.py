"""Tutorial 4: the perceptron (Rosenblatt 1958): a weighted sum plus a bias, through a step.

    prediction = step(w . x + b),   step(z) = 1 if z > 0 else 0

It cannot be trained by backpropagation: the step's derivative is 0 wherever it exists (and it
does not exist at 0), so every gradient through it is 0. It is trained instead by the perceptron
rule, which needs no derivative: after each sample, w += rate (target - prediction) x and
b += rate (target - prediction). The rule finds a separating line whenever one exists (the
perceptron convergence theorem), so it learns AND, OR and NOT; XOR has no separating line, and
the rule cycles for ever.
"""

import chainrule as cr
from chainrule._backend import numpy as np

GATES = {
    "AND": ([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1]),
    "OR": ([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 1]),
    "NOT": ([[0], [1]], [1, 0]),
    "XOR": ([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]),
}

XOR_PROOF = """\
Why no perceptron computes XOR: it would need
  (0,0) -> 0:  b <= 0            (0,1) -> 1:  w2 + b > 0
  (1,0) -> 1:  w1 + b > 0        (1,1) -> 0:  w1 + w2 + b <= 0
Adding the two middle lines gives w1 + w2 + 2b > 0, so w1 + w2 + b > -b >= 0,
which contradicts the last line. No weights satisfy all four: XOR is not linearly separable."""


class Perceptron:
    """A single step unit trained with the perceptron rule.

    Args:
        inputs: the number of inputs.
        learning_rate: the rule's step (0.1).
    """

    def __init__(self, inputs, learning_rate=0.1):
        self.w = np.zeros(inputs)
        self.b = 0.0
        self.learning_rate = learning_rate

    def predict(self, x):
        return (np.asarray(x, dtype=np.float64) @ self.w + self.b > 0).astype(int)

    def fit(self, X, y, max_epochs=100):
        """Runs the rule until an epoch makes no mistake or ``max_epochs`` pass.

        Returns:
            The mistakes made in each epoch.
        """
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
        mistakes = []
        for _ in range(max_epochs):
            wrong = 0
            for xi, target in zip(X, y):
                error = target - self.predict(xi)
                if error:
                    self.w += self.learning_rate * error * xi
                    self.b += self.learning_rate * error
                    wrong += 1
            mistakes.append(wrong)
            if wrong == 0:
                break
        return mistakes


def step_gradient():
    """The gradient of step(z) at a few points, by autodiff: all zero."""
    z = cr.tensor([-2.0, -0.5, 0.5, 2.0], dtype="float64", requires_grad=True)
    step = cr.where(z.data > 0, z * 0.0 + 1.0, z * 0.0)
    step.sum().backward()
    return z.grad


def run(max_epochs=100, print=print):
    """Trains a perceptron on each gate and prints its truth table.

    Returns:
        A dict from gate name to (learned: bool, mistakes per epoch, predictions).
    """
    print(f"d step/dz at z = -2, -0.5, 0.5, 2 by autodiff: {step_gradient().tolist()}: "
          f"no signal to learn from, so the perceptron rule instead")
    results = {}
    for gate, (X, y) in GATES.items():
        unit = Perceptron(len(X[0]))
        mistakes = unit.fit(X, y, max_epochs)
        predictions = unit.predict(X).tolist()
        learned = predictions == y
        status = (f"learned in {len(mistakes)} epochs" if learned
                  else f"not learned after {len(mistakes)} epochs (mistakes in the last: {mistakes[-1]})")
        print(f"{gate}: {status}; w = {unit.w.round(3).tolist()}, b = {unit.b:.3f}")
        for xi, target, prediction in zip(X, y, predictions):
            print(f"  {xi} -> {prediction} (want {target})")
        results[gate] = (learned, mistakes, predictions)
    print(XOR_PROOF)
    return results


main = run
