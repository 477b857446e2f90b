"""Seeding every source of randomness at once."""

import random

from chainrule import _backend


def set_random_seed(seed):
    """Seeds chainrule's generator (initializers, shuffling, dropout), Python's ``random`` and
    NumPy's global generator, as Keras's function of that name does. Two runs after the same
    seed give bitwise-identical results on one machine.

    Raises:
        ValueError: if ``seed`` is not a non-negative int.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: expected a non-negative int, received {seed!r}")
    _backend.seed(seed)
    random.seed(seed)
    _backend.numpy.random.seed(seed % 2**32)
