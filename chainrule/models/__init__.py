"""Models: Sequential (load_model comes with the saving format)."""

from chainrule.models.sequential import Sequential

__all__ = ["Sequential"]
