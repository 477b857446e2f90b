"""``keras.preprocessing``'s paths: ``chainrule.preprocessing.sequence.pad_sequences``."""

from chainrule.preprocessing import sequence

__all__ = ["sequence"]
