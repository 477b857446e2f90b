"""Synchronized batch statistics (``BatchNormalization(synchronized=True)``,
``ops.moments(..., synchronized=True)``) against one process holding the whole batch.

Synchronized BatchNormalization equals the single-process statistics; unsynchronized differs.
Two ``mpirun`` jobs run workers/sync_bn.py: 2 processes at a global batch of 64 over 200
samples, a last batch of 8 (a dense, a renormalizing, a convolutional and a masked
BatchNormalization, ``ops.moments`` in a custom layer, and an unsynchronized one); 3 processes
over batches of 10 split 4/3/3 and a last batch of 5 split 2/2/1, then a last batch of 2, which
fit refuses. The same worker runs without mpirun as the reference. The layer's synchronized
path and the primitives are also checked in one process: on a communicator of one process, and
with threads as the "processes" on a communicator that sums their arrays.
"""

import threading
import types

import numpy as np
import pytest

import chainrule as keras
from chainrule.distribution.communicator import LocalCommunicator
from chainrule.layers.normalization import batch_normalization
from chainrule.ops import nn as nn_ops
from chainrule.primitives.synchronized_normalization import (SynchronizedMoments,
                                                             SynchronizedNormalize)
from chainrule.tensor import Tensor, normalize_moments, sqrt, where
from tests.distribution import mpi

TWO = ("dense", "renorm", "conv", "masked", "moments", "unsynchronized")
THREE = ("dense", "masked")
TOLERANCE = 1e-10


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    mpi.run_single("sync_bn", out, 200, 64, ",".join(TWO[:-1]))
    return out


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    mpi.run("sync_bn", 2, out, 200, 64, ",".join(TWO))
    return out


@pytest.fixture(scope="module")
def single_small(tmp_path_factory):
    out = tmp_path_factory.mktemp("single_small")
    mpi.run_single("sync_bn", out, 35, 10, ",".join(THREE))
    return out


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    out = tmp_path_factory.mktemp("three")
    mpi.run("sync_bn", 3, out, 35, 10, ",".join(THREE + ("too_small",)))
    return out


def load(folder, name, rank=0):
    with np.load(folder / f"{name}_{rank}.npz") as arrays:
        return dict(arrays)


def same_on_every_process(folder, name, processes):
    """Rank 0's arrays, after checking every process holds them bit for bit (the moving
    statistics included: every process combines the same statistics in the same order)."""
    arrays = load(folder, name)
    for rank in range(1, processes):
        other = load(folder, name, rank)
        assert sorted(other) == sorted(arrays)
        for key in arrays:
            np.testing.assert_array_equal(other[key], arrays[key], err_msg=f"{name} rank {rank} {key}")
    return arrays


def assert_close(actual, expected, what):
    assert sorted(actual) == sorted(expected), what
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=0, atol=TOLERANCE,
                                   err_msg=f"{what} {key}")


@pytest.mark.parametrize("name", TWO[:-1])
def test_two_processes_equal_one(single, two, name):
    """Weights (gamma, beta, the moving mean and variance, renorm's statistics, the layers
    around) and outputs after two epochs, with shuffling and an uneven last batch."""
    assert_close(same_on_every_process(two, name, 2), load(single, name), name)


@pytest.mark.parametrize("name", THREE)
def test_three_uneven_processes_equal_one(single_small, three, name):
    assert_close(same_on_every_process(three, name, 3), load(single_small, name), name)


def test_batch_smaller_than_processes_is_refused(three):
    """A synchronized layer needs every process in every step: a last batch of 2 samples on 3
    processes is refused by each, alike, rather than leaving one out of the statistics' sums."""
    for rank in range(3):
        message = (three / f"too_small_{rank}.txt").read_text()
        assert "a batch of 2 samples leaves some of the 3 processes without any" in message
        assert "(synchronized=True)" in message and "at least 3" in message


def test_unsynchronized_statistics_differ(single, two):
    """Without synchronization each process averages its own shard's statistics: the moving
    mean and variance (w4 and w5: after the Dense's kernel and bias, gamma and beta) are not the
    whole batch's."""
    reference = load(single, "dense")
    for rank in range(2):
        unsynchronized = load(two, "unsynchronized", rank)
        for key in ("w4", "w5"):  # moving_mean, moving_variance
            assert np.abs(unsynchronized[key] - reference[key]).max() > 1e-6, (rank, key)


def test_one_process_unchanged():
    """Without a distribution, synchronized=True is the plain layer, bit for bit."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 4)) * 2 + 1
    results = []
    for synchronized in (False, True):
        layer = keras.layers.BatchNormalization(synchronized=synchronized, dtype="float64")
        inputs = Tensor(x, requires_grad=True)
        out = layer(inputs, training=True)
        (out * out * out).sum().backward()
        results.append((out.data, inputs.grad, layer.moving_mean.data, layer.moving_variance.data))
    for plain, synchronized in zip(*results):
        np.testing.assert_array_equal(synchronized, plain)


def fake_data_parallel(monkeypatch, module):
    """Makes ``module`` see an active data-parallel distribution of one process."""
    fake = types.SimpleNamespace(communicator=LocalCommunicator(), step_weight=1.0)
    monkeypatch.setattr(module, "active_data_parallel", lambda: fake)


@pytest.mark.parametrize("options", [{}, {"masked": True}, {"renorm": True}])
def test_synchronized_path_on_one_process_equals_plain(monkeypatch, options):
    """The layer's synchronized path (on a communicator of one process) gives the plain layer's
    outputs, input gradients and moving statistics: a mask and renorm reach it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3, 4)) * 2 + 1
    mask = rng.random(size=(16, 3)) > 0.3 if options.get("masked") else None
    results = []
    for synchronized in (False, True):
        if synchronized:
            fake_data_parallel(monkeypatch, batch_normalization)
        layer = keras.layers.BatchNormalization(synchronized=synchronized, dtype="float64",
                                                renorm=options.get("renorm", False))
        inputs = Tensor(x, requires_grad=True)
        out = layer(inputs, training=True, mask=mask)
        (out * out * out).sum().backward()
        results.append([out.data, inputs.grad] + [w.data for w in layer.weights])
    for plain, synchronized in zip(*results):
        np.testing.assert_allclose(synchronized, plain, rtol=1e-12, atol=1e-12)


def test_moments_needs_the_batch_axis(monkeypatch):
    fake_data_parallel(monkeypatch, nn_ops)
    x = Tensor(np.arange(12.0).reshape(4, 3))
    with pytest.raises(ValueError, match=r"axes must include the batch axis 0; received axes=\(1,\)"):
        keras.ops.moments(x, axes=[1], synchronized=True)
    mean, variance = keras.ops.moments(x, axes=[0], synchronized=True)
    np.testing.assert_allclose(mean.data, x.data.mean(axis=0), rtol=1e-15)
    np.testing.assert_allclose(variance.data, x.data.var(axis=0), rtol=1e-15)


# --- the primitives, on threads ---------------------------------------------------------------


class ThreadCommunicator:
    """One of ``size`` threads' communicator: ``allreduce_`` sums the threads' arrays."""

    def __init__(self, rank, shared):
        self.rank, self.shared = rank, shared
        self.size = len(shared["slots"])

    def allreduce_(self, array):
        slots, barrier = self.shared["slots"], self.shared["barrier"]
        slots[self.rank] = array.copy()
        barrier.wait()
        total = sum(slots[1:], slots[0].copy())
        barrier.wait()  # every thread has read the slots before any writes them again
        array[...] = total
        return array


def on_threads(bounds, work):
    """``work(rank, (start, stop), communicator)`` on one thread per shard; their results."""
    shared = {"slots": [None] * len(bounds), "barrier": threading.Barrier(len(bounds), timeout=30)}
    results = [None] * len(bounds)
    errors = []

    def run(rank):
        try:
            results[rank] = work(rank, bounds[rank], ThreadCommunicator(rank, shared))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
            shared["barrier"].abort()

    threads = [threading.Thread(target=run, args=(rank,)) for rank in range(len(bounds))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


BOUNDS = [(0, 4), (4, 7), (7, 10)]  # shards of 4, 3 and 3 rows of a batch of 10


def masked_normalize(x, keep, axes, epsilon):
    """BatchNormalization's masked normalization as one process composes it (Keras's count)."""
    count = keep.sum(axis=axes, keepdims=True).astype(x.dtype) + 1e-7
    mean = where(keep, x, 0.0).sum(axis=axes, keepdims=True) / count
    variance = (where(keep, x - mean, 0.0) ** 2).sum(axis=axes, keepdims=True) / count
    return (x - mean) / sqrt(variance + epsilon), mean, variance


@pytest.mark.parametrize("masked", [False, True])
def test_normalize_on_shards_equals_one_batch(masked):
    """Forward, statistics and gradient of each shard equal the whole batch's, with each
    shard's loss its mean and the gradient weighted by the shard's share, as ``fit`` does."""
    rng = np.random.default_rng(0)
    n, axes, epsilon = 10, (0, 1), 1e-3
    x = rng.normal(size=(n, 3, 4)) * rng.uniform(0.1, 3, size=4) + 1e3  # a mean far from 0
    upstream = rng.normal(size=x.shape)
    keep = np.broadcast_to((rng.random(size=(n, 3)) > 0.3)[..., None], x.shape) if masked else None
    whole = Tensor(x, requires_grad=True)
    if masked:
        z, mean, variance = masked_normalize(whole, keep, axes, epsilon)
    else:
        z, mean, variance = normalize_moments(whole, axes, epsilon)
    ((z * z * Tensor(upstream)).sum() / n).backward()

    def work(rank, bounds, communicator):
        start, stop = bounds
        weight = (stop - start) / n
        shard = Tensor(x[start:stop], requires_grad=True)
        statistics = {}
        out = SynchronizedNormalize.apply(
            shard, axes=axes, epsilon=epsilon, communicator=communicator, weight=weight,
            keep=None if keep is None else keep[start:stop], statistics=statistics)
        ((out * out * Tensor(upstream[start:stop])).sum() / (stop - start)).backward()
        return out.data, shard.grad * weight, statistics

    for (start, stop), (out, grad, statistics) in zip(BOUNDS, on_threads(BOUNDS, work)):
        np.testing.assert_allclose(out, z.data[start:stop], rtol=0, atol=1e-9)
        np.testing.assert_allclose(grad, whole.grad[start:stop], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(statistics["mean"].reshape(-1), mean.data.reshape(-1), rtol=1e-14)
        np.testing.assert_allclose(statistics["variance"].reshape(-1), variance.data.reshape(-1),
                                   rtol=1e-9)


def test_moments_on_shards_equals_one_batch():
    rng = np.random.default_rng(1)
    n = 10
    x = rng.normal(size=(n, 2, 3)) + 5
    upstream_mean, upstream_variance = rng.normal(size=(1, 1, 3)), rng.normal(size=(1, 1, 3))
    whole = Tensor(x, requires_grad=True)
    mean, variance = keras.ops.moments(whole, axes=(0, 1), keepdims=True)
    ((mean * Tensor(upstream_mean) + variance * Tensor(upstream_variance)).sum()).backward()

    def work(rank, bounds, communicator):
        start, stop = bounds
        weight = (stop - start) / n
        shard = Tensor(x[start:stop], requires_grad=True)
        both = SynchronizedMoments.apply(shard, axes=(0, 1), communicator=communicator, weight=weight)
        # every process's loss is the same function of the statistics: its weighted sum too
        ((both[0] * Tensor(upstream_mean) + both[1] * Tensor(upstream_variance)).sum()).backward()
        return both.data, shard.grad * weight

    for (start, stop), (both, grad) in zip(BOUNDS, on_threads(BOUNDS, work)):
        np.testing.assert_allclose(both[0], mean.data, rtol=1e-14)
        np.testing.assert_allclose(both[1], variance.data, rtol=1e-12)
        np.testing.assert_allclose(grad, whole.grad[start:stop], rtol=1e-12, atol=1e-14)
