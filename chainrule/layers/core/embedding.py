"""Embedding: integer token ids to dense vectors."""

from chainrule import constraints, recording, regularizers
from chainrule._backend import xp
from chainrule.layers.layer import Layer
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor, embedding


class Embedding(Layer):
    """Looks up row ``i`` of an ``(input_dim, output_dim)`` table for each id ``i``.

    The gradient is one scatter-add of the output's gradient rows into the table (a primitive),
    so repeated ids accumulate.

    Args:
        input_dim: the vocabulary size; ids must lie in [0, input_dim).
        output_dim: the size of each vector.
        embeddings_initializer: the table's initializer (Keras's default: uniform in [-0.05, 0.05]).
        embeddings_regularizer: a penalty on the table that joins the training loss (a name
            such as ``"l2"``, a Regularizer, a description dict or None).
        embeddings_constraint: a projection of the table after each optimizer update (None).
        mask_zero: whether id 0 is padding: the output then carries a mask (True where the id
            is not 0) that the layers after it use (an RNN skips the padded steps, a loss and
            its metrics leave them out). With it, id 0 cannot stand for a token, so the
            vocabulary takes ids 1 to ``input_dim - 1``.
        input_length: the sequence length, if fixed (Keras 2's argument).

    Input shape:
        ``(batch, ...)`` integer ids. Output shape: ``(batch, ..., output_dim)``.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {arg} must be a positive int, received {value!r}")
        if not isinstance(mask_zero, bool):
            raise ValueError(f"Embedding: mask_zero must be True or False, received {mask_zero!r}")
        self.check_initializers(embeddings_initializer=embeddings_initializer)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = embeddings_initializer
        self.embeddings_regularizer = regularizers.get(
            embeddings_regularizer, where=f"{self.name}: embeddings_regularizer")
        self.embeddings_constraint = constraints.get(
            embeddings_constraint, where=f"{self.name}: embeddings_constraint")
        self.input_length = input_length
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)

    def call(self, x, training=False):
        # a host call: a recorded step (jit_compile) checks every batch's ids too
        ids = recording.host(_checked_ids, x.data, self.input_dim, f'Layer "{self.name}" (Embedding)')
        return embedding(self.embeddings, ids)  # (batch, ...) -> (batch, ..., output_dim)

    def compute_mask(self, inputs, mask=None):
        """With ``mask_zero``, True where the id is not 0 (the input's shape); else None."""
        if not self.mask_zero:
            return None
        if isinstance(inputs, KerasTensor):
            return KerasTensor(inputs.shape, "bool")
        ids = inputs.data if isinstance(inputs, Tensor) else xp.asarray(inputs)
        return Tensor(recording.host(_nonzero, ids))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": self.embeddings_initializer,
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),  # Keras writes None too
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "input_length": self.input_length, "mask_zero": self.mask_zero}


def _checked_ids(ids, rows, where):
    """``ids`` as integers, or a ValueError naming the first one that is not an integer in
    [0, rows)."""
    if ids.dtype.kind == "f":
        if ids.size and (ids != xp.round(ids)).any():
            raise ValueError(f"{where} expects integer ids, received non-integer values of "
                             f"dtype {ids.dtype}")
        ids = ids.astype(xp.int64)
    elif ids.dtype.kind not in "iu":
        raise ValueError(f"{where} expects integer ids, received dtype {ids.dtype}")
    if ids.size:
        bad = (ids < 0) | (ids >= rows)
        if bad.any():
            index = tuple(int(i) for i in xp.argwhere(bad)[0])
            raise ValueError(f"{where} expects ids in [0, {rows}), received "
                             f"{int(ids[index])} at index {index}")
    return ids


def _nonzero(ids):
    return ids != 0
