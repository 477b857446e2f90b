"""Attention layers: dot-product, additive and multi-head attention."""

from chainrule.layers.attention.additive_attention import AdditiveAttention
from chainrule.layers.attention.attention import Attention
from chainrule.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]
