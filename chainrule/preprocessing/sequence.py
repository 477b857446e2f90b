"""``keras.preprocessing.sequence.pad_sequences`` (the same function as ``chainrule.utils``'s)."""

from chainrule.utils.sequence import pad_sequences

__all__ = ["pad_sequences"]
