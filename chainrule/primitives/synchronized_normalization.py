"""Normalization with the statistics of a batch split across processes (data parallelism).

Each process holds a shard of the global batch; the mean and the biased variance are those of
the whole batch, and the gradient each process gets for its rows is the one a single process
holding the whole batch would get. The primitives take a ``communicator`` (anything with
``rank``, ``size`` and ``allreduce_(array)``, an in-place sum over the processes) and the
process's ``weight`` in the global loss, so the engine knows nothing of MPI.

The gradient: the training loop's global loss is ``L = sum_k w_k L_k``, ``L_k`` the mean loss of
process k's shard and ``w_k = n_k / N`` its share of the batch (each process's parameter
gradients are weighted by ``w_k`` and summed). With ``g = dL_k/dz`` on process k's rows, the
single-process gradient ``dL/dx_i = (1/sigma) (w_k g_i - mean(w g) - z_i mean(w g z))``, the
means over the whole batch, divided by ``w_k`` is what process k passes back:

    dx_i = (1/sigma) (g_i - S1 / (N w_k) - z_i S2 / (N w_k)),
    S1 = sum over processes of w_j sum_j(g),  S2 = sum over processes of w_j sum_j(g z)

(``N w_k = n_k`` inside a training step). One ``allreduce_`` of ``2 * features`` numbers.

The forward pass is one ``allreduce_`` too. Each process puts its count, mean and sum of
squared deviations (each taken as :func:`~chainrule.primitives.normalization.moments` takes
them: shifted by a pivot, in two passes) in its own slot of a float64 buffer of
``processes * 3 * features`` numbers, zeros elsewhere, so the sum brings every process's
statistics exactly (``x + 0 == x`` in any order); each process then combines them in rank order
(Chan et al.: ``M2 = sum_k M2_k + n_k (mean_k - mean)^2``, no ``E[x^2] - E[x]^2``
cancellation), so the statistics are precise and bitwise the same on every process, and the
moving averages made from them never drift apart. The price: the buffer grows with the number of
processes (64 processes and 2048 features: 3 MB per layer and step, against the 2 * 2048
numbers of a sum of the statistics), which data parallelism on CPUs rarely reaches.
"""

import math

from chainrule._backend import sum_leading, xp
from chainrule.autograd import Function

# Keras's addition to the count of kept entries of a masked batch (an all-masked feature gives 0)
MASKED_COUNT_EPSILON = 1e-7


def _local_statistics(x, axes, keep):
    """This process's ``(count, mean, m2, centered)`` over ``axes`` (kept as size-1 axes):
    count, mean and m2 (the sum of squared deviations from the mean) in float64;
    ``centered = x - mean``, in x's dtype, as ``(x - pivot) - (mean - pivot)`` (see
    :func:`~chainrule.primitives.normalization.moments`). ``keep``: the entries that count, or
    None for all (then the pivot is one of each slice's entries; masked, 0, since an entry the
    mask drops may hold anything)."""
    stat_shape = tuple(1 if a in axes else n for a, n in enumerate(x.shape))
    if keep is None:
        count = xp.full(stat_shape, math.prod(x.shape[a] for a in axes), dtype=xp.float64)
        if x.size:
            pivot = x[tuple(slice(0, 1) if a in axes else slice(None) for a in range(x.ndim))]
        else:
            pivot = xp.zeros(stat_shape, dtype=x.dtype)
        centered = x - pivot
        total = sum_leading(centered, axes)
    else:
        count = sum_leading(keep.astype(xp.float64), axes)
        pivot = xp.zeros(stat_shape, dtype=x.dtype)
        centered = x.copy()
        total = sum_leading(xp.where(keep, centered, 0), axes)
    with xp.errstate(invalid="ignore", divide="ignore"):
        shift = xp.where(count > 0, total / xp.maximum(count, 1), 0).astype(x.dtype)
    centered -= shift
    squares = centered * centered
    m2 = sum_leading(squares if keep is None else xp.where(keep, squares, 0), axes)
    mean = pivot.astype(xp.float64) + shift.astype(xp.float64)  # exact: two numbers of x's dtype
    return count, mean, m2.astype(xp.float64), centered


def global_moments(x, axes, communicator, keep=None):
    """The statistics of the batch whose shards ``x`` holds on the processes of ``communicator``.

    Args:
        x: this process's shard (an array).
        axes: the axes reduced over (a tuple), the batch axis among them.
        communicator: an object with ``rank``, ``size`` and ``allreduce_(array)``.
        keep: a boolean array of ``x``'s shape (the entries a mask keeps), or None for all;
            with it the count is Keras's ``kept + 1e-7``.

    Returns:
        ``(mean, variance, count, centered)``: the whole batch's mean, biased variance and
        count over ``axes`` (float64, kept as size-1 axes; the count is the divisor, 1e-7
        included), and this process's ``x - mean`` (x's dtype).
    """
    count, mean, m2, centered = _local_statistics(x, axes, keep)
    features = mean.size
    buffer = xp.zeros((communicator.size, 3, features), dtype=xp.float64)
    buffer[communicator.rank] = (count.reshape(-1), mean.reshape(-1), m2.reshape(-1))
    communicator.allreduce_(buffer)
    counts, means, m2s = buffer[:, 0], buffer[:, 1], buffer[:, 2]  # (processes, features)
    total = counts.sum(axis=0)
    divisor = total if keep is None else total + MASKED_COUNT_EPSILON
    with xp.errstate(invalid="ignore", divide="ignore"):
        global_mean = (counts * means).sum(axis=0) / divisor
        # NOTE: Chan's combination: each process's squared deviations are from its own mean;
        # the second term moves them to the global one. Both are sums of non-negative terms.
        variance = (m2s + counts * (means - global_mean) ** 2).sum(axis=0) / divisor
    shape = mean.shape
    global_mean, variance, divisor = (a.reshape(shape) for a in (global_mean, variance, divisor))
    # the local and the global mean differ by about the data's spread, not its size: x's dtype
    # holds the difference precisely, and the centered values keep their precision
    centered -= (global_mean - mean).astype(x.dtype)
    return global_mean, variance, divisor, centered


def _weighted_sums(communicator, weight, *arrays):
    """``sum over processes of weight * array`` for each array (each of the statistics' shape),
    in one ``allreduce_``; float64, in the arrays' shape."""
    shape = arrays[0].shape
    buffer = xp.empty((len(arrays), arrays[0].size), dtype=xp.float64)
    for row, array in zip(buffer, arrays):
        xp.multiply(array.reshape(-1), weight, out=row, casting="unsafe")
    communicator.allreduce_(buffer)
    return [row.reshape(shape) for row in buffer]


class SynchronizedNormalize(Function):
    """z = (x - mean) / sqrt(variance + epsilon), the statistics over ``axes`` of the whole
    batch across processes; dz/dx = (grad - S1 / (N w) - z S2 / (N w)) / sqrt(variance + epsilon),
    S1 and S2 the processes' sums of ``w grad`` and ``w grad z`` over ``axes`` (see the module).

    ``keep`` (masked batches): only the kept entries count, the count is ``kept + 1e-7`` (Keras);
    the gradient's terms through the statistics reach the kept entries only. ``statistics``, a
    dict when given, receives the ``"mean"`` and ``"variance"`` (x's dtype, axes kept).
    """

    owns_grads = True

    def forward(ctx, x, axes, epsilon, communicator, weight, keep=None, statistics=None):
        mean, variance, divisor, z = global_moments(x, axes, communicator, keep)
        inv_std = 1.0 / xp.sqrt(variance + epsilon)  # float64, (1 per normalized slice, axes kept)
        z *= inv_std.astype(x.dtype)
        # 1 / (N w): this process's share of the terms through the statistics
        scale = (1.0 / (divisor * weight)).astype(x.dtype)
        if keep is None:
            z_shift = None
        else:
            # NOTE: with the count's 1e-7, sum(kept (x - mean)) = 1e-7 mean, not 0: the variance
            # then depends on the mean, a term z_shift = (1e-7 mean / count) / sigma in dz/dx.
            z_shift = (MASKED_COUNT_EPSILON * mean / divisor * inv_std).astype(x.dtype)
        ctx.save(z, inv_std.astype(x.dtype))
        ctx.axes, ctx.scale, ctx.keep, ctx.z_shift = axes, scale, keep, z_shift
        ctx.communicator, ctx.weight = communicator, weight
        if statistics is not None:
            statistics["mean"], statistics["variance"] = mean.astype(x.dtype), variance.astype(x.dtype)
        return z

    def backward(ctx, grad):
        z, inv_std = ctx.saved
        axes = ctx.axes
        s1, s2 = _weighted_sums(ctx.communicator, ctx.weight, sum_leading(grad, axes),
                                sum_leading(grad * z, axes))
        s1 = (s1 * ctx.scale).astype(z.dtype)
        s2 = (s2 * ctx.scale).astype(z.dtype)
        if ctx.keep is None:
            dx = grad - s1
            dx -= z * s2
        else:
            dx = grad - xp.where(ctx.keep, s1 + s2 * (z - ctx.z_shift), 0)
        dx *= inv_std
        return (dx,)


class SynchronizedMoments(Function):
    """z = stack(mean(x), variance(x)), the statistics over ``axes`` (kept as size 1) of the whole
    batch across processes; dz/dx = (Sm + 2 (x - mean) Sv) / (N w), Sm and Sv the processes' sums of
    ``w grad[0]`` and ``w grad[1]`` (see the module)
    """

    owns_grads = True

    def forward(ctx, x, axes, communicator, weight):
        mean, variance, divisor, centered = global_moments(x, axes, communicator)
        ctx.save(centered)
        ctx.axes, ctx.scale = axes, (1.0 / (divisor * weight)).astype(x.dtype)
        ctx.communicator, ctx.weight = communicator, weight
        return xp.stack([mean.astype(x.dtype), variance.astype(x.dtype)])

    def backward(ctx, grad):
        (centered,) = ctx.saved
        sm, sv = _weighted_sums(ctx.communicator, ctx.weight, grad[0], grad[1])
        sm = (sm * ctx.scale).astype(centered.dtype)
        sv = (2 * sv * ctx.scale).astype(centered.dtype)
        dx = centered * sv
        dx += sm
        return (dx,)
