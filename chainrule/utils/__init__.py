"""Helpers at ``keras.utils``'s paths: one-hot labels, padding, normalization."""

from chainrule.utils.numerical import normalize, to_categorical
from chainrule.utils.sequence import pad_sequences

__all__ = ["to_categorical", "pad_sequences", "normalize"]
