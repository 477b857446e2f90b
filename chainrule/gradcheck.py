"""Gradient checking: the backward pass against float64 central differences."""

from chainrule.autograd import no_grad
from chainrule._backend import float64, xp
from chainrule.tensor import Tensor


class GradcheckError(AssertionError):
    """The analytic gradient of some input disagrees with its finite-difference estimate."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Checks ``fn``'s backward pass against central differences, for every input requiring grad.

    For an output ``y = fn(*inputs)`` of any shape, a fixed random weighting ``v`` of the outputs
    makes the scalar ``L = sum(v * y)``; its gradient from ``backward()`` is compared, element by
    element, with ``(L(x + eps) - L(x - eps)) / (2 eps)``. With random ``v`` a wrong entry of the
    Jacobian anywhere shows up (a weighting of all ones could hide errors that cancel).

    Args:
        fn: a function of tensors returning one tensor.
        *inputs: its arguments; tensors with ``requires_grad=True`` must be float64, other
            arguments are passed through unchanged.
        eps: the finite-difference step.
        atol, rtol: an element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
        seed: the seed of the output weighting.

    Returns:
        True when every gradient matches.

    Raises:
        GradcheckError: naming the input, the worst element, both values and the tolerance.
        TypeError: for an input requiring grad that is not float64.
    """
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to check")
    for i in checked:
        if inputs[i].dtype != float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need float64 "
                f"inputs (use tensor(..., dtype='float64'))"
            )

    for i in checked:
        inputs[i].zero_grad()
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, returned {type(out).__name__}")
    rng = xp.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, size=out.shape) * rng.choice([-1.0, 1.0], size=out.shape)
    if out.requires_grad:
        out.backward(weights)

    def weighted_output():
        with no_grad():
            return float((fn(*inputs).data.astype(float64) * weights).sum())

    for i in checked:
        x = inputs[i]
        analytic = x.grad if x.grad is not None else xp.zeros(x.shape)
        numeric = xp.zeros(x.shape)
        original = x.data
        flat = original.copy()  # a contiguous copy, so stepping works for sliced inputs as well
        x.data = flat
        view, numeric_view = flat.reshape(-1), numeric.reshape(-1)
        try:
            for k in range(view.size):
                saved = view[k]
                view[k] = saved + eps
                plus = weighted_output()
                view[k] = saved - eps
                minus = weighted_output()
                view[k] = saved
                numeric_view[k] = (plus - minus) / (2 * eps)
        finally:
            x.data = original
        error = xp.abs(analytic - numeric)
        excess = error - (atol + rtol * xp.abs(numeric))
        if excess.size and (excess > 0).any() or not xp.isfinite(analytic).all():
            worst = xp.unravel_index(int(xp.nanargmax(xp.where(xp.isfinite(excess), excess, xp.inf))), x.shape)
            raise GradcheckError(
                f"gradcheck: the gradient of input {i} (shape {x.shape}) is wrong at index {tuple(int(k) for k in worst)}: "
                f"backward gives {float(analytic[worst])!r}, finite differences give {float(numeric[worst])!r} "
                f"(allowed difference {atol + rtol * abs(numeric[worst]):.3g}, atol={atol}, rtol={rtol})"
            )
    for i in checked:
        inputs[i].zero_grad()
    return True
