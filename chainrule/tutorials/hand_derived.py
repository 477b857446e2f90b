"""Tutorial 2: a 1-2-1 linear network whose four gradients are derived by hand.

    h1 = w1 x,  h2 = w2 x,  out = w3 h1 + w4 h2,  loss = 1/2 (out - y)^2

The chain rule gives, with e = dloss/dout = out - y:

    dloss/dw3 = e h1         dloss/dw4 = e h2
    dloss/dw1 = e w3 x       dloss/dw2 = e w4 x

Starting from w1=1, w2=2, w3=3, w4=2 (the network computes 7x), per-sample gradient descent at
learning rate 1e-5 on y = 2x, x uniform in [1, 100], drives the network's slope w1 w3 + w2 w4 to
2. At every step the hand-derived gradients are compared with chainrule's autodiff.

The lesson at the end: a common hand-written version of this loop updates w4 before using it in
w2's gradient, and multiplies w1's gradient by a stale loop variable instead of x. Such code runs
and even trains, slowly and wrongly; ``gradcheck`` (backward against finite differences) names
the wrong gradients at once.
"""

import chainrule as cr
from chainrule._backend import numpy as np

START = (1.0, 2.0, 3.0, 2.0)


def hand_gradients(w, x, y):
    """The four gradients from the chain rule, and the loss."""
    w1, w2, w3, w4 = w
    h1, h2 = w1 * x, w2 * x
    e = w3 * h1 + w4 * h2 - y
    return (e * w3 * x, e * w4 * x, e * h1, e * h2), 0.5 * e * e


def buggy_gradients(w, x, y, stale_x, learning_rate):
    """The mistaken version: w4 is updated before w2's gradient uses it, and w1's gradient is
    multiplied by the previous sample's x."""
    w1, w2, w3, w4 = w
    h1, h2 = w1 * x, w2 * x
    e = w3 * h1 + w4 * h2 - y
    d4 = e * h2
    w4 = w4 - learning_rate * d4  # updated too early
    return (e * w3 * stale_x, e * w4 * x, e * h1, d4)


class _HandNetwork(cr.Function):
    """The network's loss as one primitive whose backward is a hand-written gradient rule, so
    gradcheck can judge the rule."""

    def forward(ctx, w, x, y, rule):
        ctx.w, ctx.x, ctx.y, ctx.rule = w, x, y, rule
        e = w[2] * w[0] * x + w[3] * w[1] * x - y
        return np.asarray(0.5 * e * e)

    def backward(ctx, grad):
        return grad * np.asarray(ctx.rule(tuple(ctx.w), ctx.x, ctx.y)), None, None


def run(samples=1000, learning_rate=1e-5, seed=0, print=print):
    """Derives, checks and trains; then shows gradcheck catching the buggy rule.

    Returns:
        A dict: ``weights``, ``slope`` (w1 w3 + w2 w4), ``largest_difference`` between hand and
        autodiff gradients over all steps, and ``caught`` (gradcheck's message for the buggy rule).
    """
    rng = np.random.default_rng(seed)
    w = [cr.tensor(value, dtype="float64", requires_grad=True) for value in START]
    names = ("w1", "w2", "w3", "w4")
    largest = 0.0
    for step in range(samples):
        x = float(rng.uniform(1, 100))
        y = 2 * x
        h1, h2 = w[0] * x, w[1] * x
        out = w[2] * h1 + w[3] * h2
        loss = 0.5 * (out - y) ** 2
        loss.backward()
        values = tuple(t.item() for t in w)
        by_hand, hand_loss = hand_gradients(values, x, y)
        autodiff = [t.grad.item() for t in w]
        largest = max(largest, max(abs(a - b) / max(abs(a), 1.0) for a, b in zip(by_hand, autodiff)))
        if step == 0:
            e = out.item() - y
            print(f"first sample x = {x:.4f}, y = 2x = {y:.4f}")
            print(f"  h1 = w1 x = {h1.item():.4f}, h2 = w2 x = {h2.item():.4f}, "
                  f"out = w3 h1 + w4 h2 = {out.item():.4f}, loss = 1/2 (out - y)^2 = {loss.item():.4f}")
            print(f"  e = dloss/dout = out - y = {e:.4f}")
            formulas = ("e w3 x", "e w4 x", "e h1", "e h2")
            for name, formula, hand, auto in zip(names, formulas, by_hand, autodiff):
                print(f"  dloss/d{name} = {formula:<7} = {hand:14.4f}   autodiff: {auto:14.4f}")
        with cr.no_grad():
            for t in w:
                t.data = t.data - learning_rate * t.grad
                t.grad = None
        if step in (0, 9, 99) or step == samples - 1:
            values = [t.item() for t in w]
            slope = values[0] * values[2] + values[1] * values[3]
            print(f"after {step + 1:4d} samples: w = {[round(v, 4) for v in values]}, "
                  f"slope w1 w3 + w2 w4 = {slope:.6f}")
    print(f"largest relative difference between hand and autodiff gradients: {largest:.1e}")
    values = [t.item() for t in w]
    for x in (1.0, 10.0, 50.0):
        print(f"  network({x:g}) = {(values[0] * values[2] + values[1] * values[3]) * x:.4f}, 2x = {2 * x:g}")

    print("\nThe buggy hand-written rule (w4 updated before w2's gradient uses it; a stale x):")
    x, y, stale = 37.0, 74.0, 12.0
    inputs = [cr.tensor(START, dtype="float64", requires_grad=True)]

    def buggy(weights):
        return _HandNetwork.apply(weights, x, y, rule=lambda v, x_, y_: buggy_gradients(
            v, x_, y_, stale, learning_rate))

    def correct(weights):
        return _HandNetwork.apply(weights, x, y, rule=lambda v, x_, y_: hand_gradients(v, x_, y_)[0])

    cr.gradcheck(correct, *inputs)
    print("  gradcheck passes the correct rule")
    caught = None
    try:
        cr.gradcheck(buggy, *inputs)
    except cr.GradcheckError as error:
        caught = str(error)
        print(f"  gradcheck rejects the buggy rule: {caught}")
    return {"weights": values, "slope": values[0] * values[2] + values[1] * values[3],
            "largest_difference": largest, "caught": caught}


main = run
