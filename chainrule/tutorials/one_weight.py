"""Tutorial 1: one weight learns y = 2x by gradient descent on the mean squared error.

The smallest training loop there is: a forward pass ``w * x``, a loss, ``loss.backward()`` to get
d(loss)/dw, and a step against the gradient. Every number is float64, so the printed values are
the exact ones of the arithmetic: the loss falls 30, 21.675, 15.6601875, ... as
w approaches 2 by w <- 0.85 w + 0.3 (the update works out to that here).
"""

import chainrule as cr

X = [1.0, 2.0, 3.0, 4.0]
Y = [2.0, 4.0, 6.0, 8.0]


def run(epochs=10, learning_rate=0.01, print=print):
    """Trains the weight and prints each step.

    Returns:
        A dict: ``w`` (the final weight), ``losses`` (one per epoch, before its update) and
        ``weights`` (after each update).
    """
    x = cr.tensor(X, dtype="float64")
    y = cr.tensor(Y, dtype="float64")
    w = cr.tensor(0.0, dtype="float64", requires_grad=True)

    def forward(inputs):
        return w * inputs

    print(f"Prediction before training: f(5) = {round(forward(5.0).item(), 3)}")
    losses, weights = [], []
    for epoch in range(1, epochs + 1):
        loss = ((forward(x) - y) ** 2).mean()  # the mean squared error
        loss.backward()  # w.grad = d(loss)/dw = mean(2 x (w x - y))
        with cr.no_grad():
            w.data = w.data - learning_rate * w.grad
        w.grad = None  # gradients accumulate: clear before the next backward
        losses.append(loss.item())
        weights.append(w.item())
        print(f"epoch {epoch}: w = {w.item():.3f}, loss = {loss.item():.8f}")
    print(f"Prediction after training: f(5) = {round(forward(5.0).item(), 3)}")
    return {"w": w.item(), "losses": losses, "weights": weights}


main = run
