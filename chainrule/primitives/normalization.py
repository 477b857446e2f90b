"""Normalization over a set of axes: the shared core of batch, layer and group normalization.

``z = (x - mean(x)) / sqrt(var(x) + epsilon)``, the mean and the biased variance taken over
``axes`` (kept as size-1 axes, so they broadcast back against ``x``).

A primitive for stability and cost. Composed of means, subtractions and a square root, the graph
would hold a dozen nodes and save as many full-size arrays; the closed-form backward needs only
the output and one scale per normalized slice. And the statistics are taken carefully (see
:func:`moments`): float32 data with a large mean and a small spread (a mean of 1e4 and a standard
deviation of 1e-2) keeps its precision, where ``E[x^2] - E[x]^2`` would cancel to noise.
"""

import math

from chainrule._backend import sum_leading, xp
from chainrule.autograd import Function


def _mean(a, axes, count):
    """The mean over ``axes`` (kept), nan for an empty selection, without NumPy's warning."""
    with xp.errstate(invalid="ignore", divide="ignore"):
        return sum_leading(a, axes) * (1.0 / count if count else math.nan)


def moments(x, axes):
    """The mean, the centered values ``x - mean`` and the biased variance of ``x`` over ``axes``
    (kept as size-1 axes), in ``x``'s dtype.

    NOTE: the data is first shifted by a pivot, one of its own entries in each normalized slice.
    The shift is exact for entries near the pivot (they differ by less than a factor of 2, so
    their difference is representable), and the sums then add numbers of the size of the spread
    rather than of the mean: the mean of the shifted data, and the centered values taken from
    it, keep the precision of the spread. The variance is then a second pass over the centered
    values (never ``E[x^2] - E[x]^2``), so it is never negative and never cancels.
    """
    count = math.prod(x.shape[a] for a in axes)
    if count and x.size:
        pivot = x[tuple(slice(0, 1) if a in axes else slice(None) for a in range(x.ndim))]
    else:
        pivot = xp.zeros((), dtype=x.dtype)
    centered = x - pivot  # a new array: centered in place below
    shift = _mean(centered, axes, count)
    centered -= shift
    variance = _mean(centered * centered, axes, count)
    return pivot + shift, centered, variance


class Normalize(Function):
    """z = (x - mean(x)) / sqrt(var(x) + epsilon), the biased variance, over axes;
    dz/dx = (grad - mean(grad) - z mean(grad z)) / sqrt(var(x) + epsilon), the means over axes

    ``statistics``, a dict when given, receives the ``"mean"`` and ``"variance"`` of ``x`` (axes
    kept) for a caller that needs them too (batch normalization's moving averages): one pass
    computes them for both.
    """

    owns_grads = True

    def forward(ctx, x, axes, epsilon, statistics=None):
        mean, z, variance = moments(x, axes)
        inv_std = 1.0 / xp.sqrt(variance + epsilon)  # (1 per normalized slice, axes kept)
        z *= inv_std  # the centered values become z in place: no other full-size array
        ctx.save(z, inv_std)
        ctx.axes, ctx.count = axes, math.prod(x.shape[a] for a in axes)
        if statistics is not None:
            statistics["mean"], statistics["variance"] = mean, variance
        return z

    def backward(ctx, grad):
        z, inv_std = ctx.saved
        axes, count = ctx.axes, ctx.count
        # NOTE: the closed form of the chain through the mean and the variance. mean(grad z) is
        # the projection of grad on z; removing it and mean(grad) leaves what changes z's shape.
        dx = grad - _mean(grad, axes, count)
        dx -= z * _mean(grad * z, axes, count)
        dx *= inv_std
        return (dx,)
