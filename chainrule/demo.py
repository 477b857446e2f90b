"""The demo behind ``chainrule demo``: a 2-4-1 network learns XOR with the Tensor API alone."""

import chainrule as cr

XOR_INPUTS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_TARGETS = [[0.0], [1.0], [1.0], [0.0]]


def train_xor(epochs=2000, learning_rate=0.5, seed=0, report_every=200, out=print):
    """Full-batch gradient descent on the mean squared error; returns the losses and predictions."""
    cr.manual_seed(seed)
    x = cr.tensor(XOR_INPUTS)
    y = cr.tensor(XOR_TARGETS)
    w1 = (cr.randn(2, 4) * 1.0).detach().requires_grad_()
    b1 = cr.zeros(4, requires_grad=True)
    w2 = (cr.randn(4, 1) * 0.5).detach().requires_grad_()
    b2 = cr.zeros(1, requires_grad=True)
    parameters = [w1, b1, w2, b2]

    losses = []
    for epoch in range(1, epochs + 1):
        hidden = cr.tanh(x @ w1 + b1)  # (4, 2) @ (2, 4) -> (4, 4)
        prediction = cr.sigmoid(hidden @ w2 + b2)  # (4, 4) @ (4, 1) -> (4, 1)
        loss = ((prediction - y) ** 2).mean()
        for p in parameters:
            p.zero_grad()
        loss.backward()
        for p in parameters:
            p.data -= learning_rate * p.grad
        losses.append(loss.item())
        if epoch == 1 or epoch % report_every == 0:
            out(f"epoch {epoch:5d}  loss {loss.item():.6f}")
    with cr.no_grad():
        final = cr.sigmoid(cr.tanh(x @ w1 + b1) @ w2 + b2)
    return losses, final.numpy()


def main(out=print):
    out("chainrule demo: a 2-4-1 network (tanh, sigmoid) learns XOR by backpropagation")
    losses, predictions = train_xor(out=out)
    out("")
    for inputs, target, p in zip(XOR_INPUTS, XOR_TARGETS, predictions):
        out(f"  {inputs[0]:.0f} xor {inputs[1]:.0f} = {target[0]:.0f}   network says {p[0]:.3f}")
    out(f"\nloss fell from {losses[0]:.4f} to {losses[-1]:.6f}")
    return 0
