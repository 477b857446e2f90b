"""preprocessing layers."""

from chainrule.layers.preprocessing.category_encoding import CategoryEncoding
from chainrule.layers.preprocessing.normalization import Normalization
from chainrule.layers.preprocessing.rescaling import Rescaling

__all__ = ["CategoryEncoding", "Normalization", "Rescaling"]
