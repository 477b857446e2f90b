"""Helpers at ``keras.utils``'s paths: one-hot labels, padding, normalization, seeding."""

from chainrule.utils.numerical import normalize, to_categorical
from chainrule.utils.random import set_random_seed
from chainrule.utils.sequence import pad_sequences

__all__ = ["to_categorical", "pad_sequences", "normalize", "set_random_seed"]
