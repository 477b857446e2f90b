"""Models: Sequential, and load_model for files written by ``model.save``."""

from chainrule.models.sequential import Sequential

__all__ = ["Sequential", "load_model"]


def load_model(filepath, custom_objects=None, compile=True, restore_random_state=True):
    """Reads a model written by ``model.save``; see :func:`chainrule.saving.load_model`."""
    from chainrule.saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile,
                restore_random_state=restore_random_state)
