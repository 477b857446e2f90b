"""core layers."""

from chainrule.layers.core.identity import Identity

__all__ = ["Identity"]
