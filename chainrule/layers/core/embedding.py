"""Embedding: integer token ids to dense vectors."""

from chainrule._backend import xp
from chainrule.layers.layer import Layer
from chainrule.tensor import embedding


class Embedding(Layer):
    """Looks up row ``i`` of an ``(input_dim, output_dim)`` table for each id ``i``.

    The gradient is one scatter-add of the output's gradient rows into the table (a primitive),
    so repeated ids accumulate.

    Args:
        input_dim: the vocabulary size; ids must lie in [0, input_dim).
        output_dim: the size of each vector.
        embeddings_initializer: the table's initializer (Keras's default: uniform in [-0.05, 0.05]).
        mask_zero: must be False: chainrule's layers do not carry masks.
        input_length: the sequence length, if fixed (Keras 2's argument).

    Input shape:
        ``(batch, ...)`` integer ids. Output shape: ``(batch, ..., output_dim)``.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False,
                 input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Embedding: {arg} must be a positive int, received {value!r}")
        if mask_zero:
            raise ValueError("Embedding: mask_zero=True is not supported, because chainrule's "
                             "layers do not carry masks; pad with zeros and leave it False")
        self.check_initializers(embeddings_initializer=embeddings_initializer)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = embeddings_initializer
        self.input_length = input_length

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer)

    def call(self, x, training=False):
        ids = x.data
        where = f'Layer "{self.name}" (Embedding)'
        if ids.dtype.kind == "f":
            if ids.size and (ids != xp.round(ids)).any():
                raise ValueError(f"{where} expects integer ids, received non-integer values of "
                                 f"dtype {ids.dtype}")
            ids = ids.astype(xp.int64)
        elif ids.dtype.kind not in "iu":
            raise ValueError(f"{where} expects integer ids, received dtype {ids.dtype}")
        if ids.size:
            bad = (ids < 0) | (ids >= self.input_dim)
            if bad.any():
                index = tuple(int(i) for i in xp.argwhere(bad)[0])
                raise ValueError(f"{where} expects ids in [0, {self.input_dim}), received "
                                 f"{int(ids[index])} at index {index}")
        return embedding(self.embeddings, ids)  # (batch, ...) -> (batch, ..., output_dim)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": self.embeddings_initializer,
                "input_length": self.input_length}
