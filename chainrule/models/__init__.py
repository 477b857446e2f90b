"""Models: the Model base (functional and subclassed models), Sequential, and the readers of
files and descriptions written by ``model.save``, ``get_config`` and ``to_json``."""

from chainrule.models.functional import Functional
from chainrule.models.model import Model
from chainrule.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_config",
           "model_from_json"]


def load_model(filepath, custom_objects=None, compile=True, restore_random_state=True):
    """Reads a model written by ``model.save`` or by Keras (``.keras``, legacy ``.h5``); see
    :func:`chainrule.saving.load_model`."""
    from chainrule.saving import load_model as load

    return load(filepath, custom_objects=custom_objects, compile=compile,
                restore_random_state=restore_random_state)


def model_from_json(json_string, custom_objects=None):
    """A new model (unbuilt weights freshly initialized) from :meth:`Model.to_json`'s string;
    class names resolve only through chainrule's registries and ``custom_objects``."""
    from chainrule.saving.serialization import model_from_json as read

    return read(json_string, custom_objects)


def model_from_config(config, custom_objects=None):
    """A new model from ``{"class_name": ..., "config": ...}``."""
    from chainrule.saving.serialization import deserialize_model

    return deserialize_model(config, "model_from_config", custom_objects)


def clone_model(model, custom_objects=None):
    """A new model of the same architecture with freshly initialized weights."""
    from chainrule.saving.serialization import deserialize_model, serialize_model

    return deserialize_model(serialize_model(model, "clone_model"), "clone_model", custom_objects)
