"""The random source of a noise layer, from Keras's ``seed`` argument."""

from chainrule._backend import numpy as np
from chainrule.random import SeedGenerator


def seed_generator(seed, where):
    """None: draws come from the backend's generator, which
    :func:`chainrule.utils.set_random_seed` seeds; an integer: a generator of the layer's own,
    so two layers made with the same seed draw the same noise, step after step.

    Raises:
        ValueError: for a seed that is neither None nor an integer.
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"{where}: seed must be None or an integer, received {seed!r}")  # noqa: TRY004 (Keras-style)
    return SeedGenerator(int(seed))


def noise_dtype(x, layer):
    """The dtype noise is drawn in: the input's if floating, else the layer's."""
    return str(x.dtype) if x.dtype.kind == "f" else str(layer.dtype)
