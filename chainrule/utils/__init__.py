"""Helpers at ``keras.utils``'s paths: one-hot labels, padding, normalization, seeding."""

from chainrule.utils.data import pack_x_y_sample_weight, unpack_x_y_sample_weight
from chainrule.utils.numerical import normalize, to_categorical
from chainrule.utils.plot_model import plot_model
from chainrule.utils.py_dataset import PyDataset, Sequence
from chainrule.utils.random import set_random_seed
from chainrule.utils.sequence import pad_sequences

__all__ = ["to_categorical", "pad_sequences", "normalize", "set_random_seed", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight", "PyDataset", "Sequence", "plot_model"]


def register_keras_serializable(package="Custom", name=None):
    """tf.keras 2's path of :func:`chainrule.saving.register_keras_serializable`."""
    from chainrule.saving import register_keras_serializable as register

    return register(package, name)


__all__ += ["register_keras_serializable"]
