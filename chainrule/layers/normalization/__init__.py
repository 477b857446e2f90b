"""Normalization layers: batch, layer, group and unit normalization, as Keras 3 has them."""

from chainrule.layers.normalization.batch_normalization import BatchNormalization
from chainrule.layers.normalization.group_normalization import GroupNormalization
from chainrule.layers.normalization.layer_normalization import LayerNormalization
from chainrule.layers.normalization.unit_normalization import UnitNormalization

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "UnitNormalization"]
