"""Tutorial 5: a 2-3-1 sigmoid network, one backpropagation step by hand, then XOR.

Part 1 follows one sample, X = [[0.1, 0.2]] with target 0.3, through a network without biases:

    hidden = sigmoid(X W1)          W1: (2, 3)
    output = sigmoid(hidden W2)     W2: (3, 1)
    loss   = 1/2 (output - y)^2

and prints each quantity of the backward pass with its formula, ending in the weight updates at
learning rate 0.1; chainrule's autodiff gradients are printed beside the hand-made ones.

Part 2 trains the same shape of network, now with biases (without them it cannot draw the two
lines XOR needs), on XOR by full-batch gradient descent, and plots its loss curve and the
decision boundary it learned.
"""

import os

import chainrule as cr
from chainrule._backend import numpy as np

W1 = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
W2 = np.array([[0.7], [0.8], [0.9]])
X = np.array([[0.1, 0.2]])
Y = np.array([[0.3]])
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def one_step(learning_rate=0.1, print=print):
    """Part 1: the forward pass, deltas and updates, each printed with its formula."""
    def fmt(array):
        return str(np.round(np.asarray(array), 8).tolist())

    hidden = _sigmoid(X @ W1)
    output = _sigmoid(hidden @ W2)
    loss = 0.5 * float(((output - Y) ** 2).sum())
    delta_out = (output - Y) * output * (1 - output)
    delta_hidden = (delta_out @ W2.T) * hidden * (1 - hidden)
    grad_w2, grad_w1 = hidden.T @ delta_out, X.T @ delta_hidden
    new_w2, new_w1 = W2 - learning_rate * grad_w2, W1 - learning_rate * grad_w1
    print("forward:")
    print(f"  hidden = sigmoid(X W1) = {fmt(hidden)}")
    print(f"  output = sigmoid(hidden W2) = {fmt(output)}")
    print(f"  loss = 1/2 (output - y)^2 = {loss:.10f}")
    print("backward:")
    print(f"  output delta = (output - y) output (1 - output) = {fmt(delta_out)}")
    print(f"  hidden delta = (output delta W2^T) hidden (1 - hidden) = {fmt(delta_hidden)}")
    print(f"  dloss/dW2 = hidden^T (output delta) = {fmt(grad_w2.ravel())}")
    print(f"  dloss/dW1 = X^T (hidden delta) = {fmt(grad_w1)}")

    w1, w2 = cr.tensor(W1, requires_grad=True), cr.tensor(W2, requires_grad=True)
    autodiff_loss = 0.5 * ((cr.sigmoid(cr.sigmoid(cr.tensor(X) @ w1) @ w2) - Y) ** 2).sum()
    autodiff_loss.backward()
    print(f"  autodiff:  dloss/dW2 = {fmt(w2.grad.ravel())}")
    print(f"             dloss/dW1 = {fmt(w1.grad)}")
    print(f"updates at learning rate {learning_rate}: W <- W - {learning_rate} dloss/dW")
    print(f"  W2 = {fmt(new_w2.ravel())}")
    print(f"  W1 = {fmt(new_w1)}")
    return {"hidden": hidden, "output": output, "loss": loss, "delta_out": delta_out,
            "delta_hidden": delta_hidden, "W1": new_w1, "W2": new_w2,
            "autodiff": (w1.grad, w2.grad), "hand": (grad_w1, grad_w2)}


def train_xor(steps=5000, learning_rate=2.0, seed=3):
    """Part 2: a 2-3-1 sigmoid network with biases, full-batch gradient descent on XOR.

    Returns:
        ``(predict, losses)``: a function of inputs ``(n, 2)`` and the loss at each step.
    """
    rng = np.random.default_rng(seed)
    params = [cr.tensor(rng.normal(0, 1, shape), requires_grad=True) for shape in ((2, 3), (3,), (3, 1), (1,))]
    w1, b1, w2, b2 = params
    x = cr.tensor(XOR_X)
    losses = []
    for _ in range(steps):
        output = cr.sigmoid(cr.sigmoid(x @ w1 + b1) @ w2 + b2)
        loss = 0.5 * ((output - XOR_Y) ** 2).mean()
        loss.backward()
        with cr.no_grad():
            for p in params:
                p.data = p.data - learning_rate * p.grad
                p.grad = None
        losses.append(loss.item())

    def predict(inputs):
        with cr.no_grad():
            return cr.sigmoid(cr.sigmoid(cr.tensor(inputs) @ w1 + b1) @ w2 + b2).numpy()

    return predict, losses


def run(plots=None, steps=5000, print=print):
    """Both parts; with ``plots`` a folder, writes loss.png and boundary.png there.

    Returns:
        A dict with part 1's numbers, ``xor_predictions`` and ``losses``.
    """
    result = one_step(print=print)
    print(f"\nXOR with biases, full-batch gradient descent, {steps} steps:")
    predict, losses = train_xor(steps)
    predictions = predict(XOR_X).ravel()
    for point, target, p in zip(XOR_X.astype(int).tolist(), XOR_Y.ravel().astype(int), predictions):
        print(f"  {point} -> {p:.4f} (want {target})")
    print(f"  loss: {losses[0]:.4f} at the start, {losses[-1]:.6f} at the end")
    if plots:
        from chainrule import plotting

        os.makedirs(plots, exist_ok=True)
        plotting.plot_curve(losses, os.path.join(plots, "xor_loss.png"), "XOR: loss per step", log=True)
        plotting.plot_decision_boundary(predict, XOR_X, XOR_Y, os.path.join(plots, "xor_boundary.png"),
                                        "XOR: the learned boundary")
        print(f"  plots written to {plots}/xor_loss.png and {plots}/xor_boundary.png")
    return {**result, "xor_predictions": predictions, "losses": losses}


main = run
