"""preprocessing layers."""

from chainrule.layers.preprocessing.rescaling import Rescaling

__all__ = ["Rescaling"]
