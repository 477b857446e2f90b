"""Attention: dot-product (Luong-style) attention over a query and a value sequence."""

from chainrule import ops
from chainrule._backend import numpy as np
from chainrule.layers.layer import Layer
from chainrule.ops.node import KerasTensor
from chainrule.random import check_rate, dropout_mask


def keras_mask(x):
    """The mask a tensor carries (Keras's ``_keras_mask``), or None."""
    return getattr(x, "_keras_mask", None)


def set_keras_mask(x, mask):
    """Attaches ``mask`` to ``x`` where tensors carry masks (a no-op where they cannot)."""
    try:
        x._keras_mask = mask
    except AttributeError:
        pass


def masked_scores(scores, mask):
    """``scores`` with a large negative number added where ``mask`` is False, as Keras does, so
    those positions get (almost exactly) zero weight from the softmax."""
    # NOTE: Keras subtracts 1e9 (65504 in float16) rather than replacing the score; a row with
    # every position masked is then about uniform in float32, not zero.
    large = 65504.0 if scores.dtype == "float16" else 1.0e9
    return ops.where(ops.logical_not(mask), scores - large, scores)


class Attention(Layer):
    """Dot-product attention: ``softmax(query @ key^T) @ value``, a.k.a. Luong-style attention.

    Args:
        use_scale: whether to learn a scalar ``scale`` that multiplies the scores (starts at 1).
        score_mode: ``"dot"`` (the query-key dot product) or ``"concat"`` (the sum over features
            of ``tanh(query + key)``, times a learned scalar ``concat_score_weight``).
        dropout: the fraction of attention weights to drop during training, in [0, 1).
        seed: accepted for Keras compatibility; dropout draws from the backend's generator.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a list ``[query, value]`` or ``[query, value, key]`` (key defaults to value) of
            shapes ``(batch, Tq, dim)``, ``(batch, Tv, dim)``, ``(batch, Tv, dim)``.
        mask: a list ``[query_mask, value_mask]`` of booleans ``(batch, Tq)`` and ``(batch, Tv)``;
            by default the masks the inputs carry. Masked values get no weight; masked query
            rows give zeros.
        return_attention_scores: also return the attention weights ``(batch, Tq, Tv)``.
        training: whether dropout is active.
        use_causal_mask: position i attends only to positions j <= i.

    Output shape:
        ``(batch, Tq, dim)`` (and ``(batch, Tq, Tv)`` with ``return_attention_scores``).
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{self.describe()}: invalid value for argument score_mode; expected one of "
                             f"{{'dot', 'concat'}}, received score_mode={score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = check_rate(dropout, f"{self.name}: dropout")
        self.seed = seed
        self.supports_masking = True

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")

    def _calculate_scores(self, query, key):
        """The scores ``(batch, Tq, Tv)`` of each query against each key."""
        if self.score_mode == "dot":
            scores = ops.matmul(query, ops.swapaxes(key, -2, -1))  # (b, Tq, d) @ (b, d, Tv) -> (b, Tq, Tv)
            return scores * self.scale if self.scale is not None else scores
        q = ops.expand_dims(query, -2)  # (b, Tq, 1, d)
        k = ops.expand_dims(key, -3)  # (b, 1, Tv, d)
        pairs = q + k if self.scale is None else self.scale * (q + k)
        return self.concat_score_weight * ops.sum(ops.tanh(pairs), axis=-1)

    def _apply_scores(self, scores, value, scores_mask=None, training=False):
        """The weighted values ``(batch, Tq, dim)`` and the weights ``(batch, Tq, Tv)``:
        ``scores`` masked, softmaxed over the values, dropped out in training."""
        if scores_mask is not None:
            if scores_mask.ndim == 2:
                scores_mask = ops.expand_dims(scores_mask, -2)  # (b, Tv) -> (b, 1, Tv)
            scores = masked_scores(scores, scores_mask)
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = weights * dropout_mask(weights.shape, self.dropout, weights.dtype)
        return ops.matmul(weights, value), weights  # (b, Tq, Tv) @ (b, Tv, d) -> (b, Tq, d)

    def _calculate_score_mask(self, scores, value_mask, use_causal_mask):
        if not use_causal_mask:
            return value_mask
        tq, tv = scores.shape[-2], scores.shape[-1]
        causal = ops.convert_to_tensor(np.tril(np.ones((1, tq, tv), dtype=bool)))  # (1, Tq, Tv): j <= i
        if value_mask is None:
            return causal
        return ops.logical_and(ops.expand_dims(value_mask, -2), causal)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        if mask is None and any(keras_mask(x) is not None for x in inputs):
            mask = [keras_mask(x) for x in inputs]
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = _bool_mask(mask[0]) if mask else None
        value_mask = _bool_mask(mask[1]) if mask else None
        scores = self._calculate_scores(query, key)
        scores_mask = self._calculate_score_mask(scores, value_mask, use_causal_mask)
        output, weights = self._apply_scores(scores, value, scores_mask, training)
        if query_mask is not None:
            output = ops.where(ops.expand_dims(query_mask, -1), output, 0.0)  # masked query rows: 0
            set_keras_mask(output, query_mask)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs, mask=None):
        self._validate_inputs(inputs, mask)
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], input_shape[1][-1])

    def compute_output_spec(self, inputs, mask=None, return_attention_scores=False, training=None,
                            use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        shapes = [x.shape for x in inputs]
        self.build_for(shapes)
        dtype = self._output_dtype(inputs)
        output = KerasTensor(self.compute_output_shape(shapes), dtype)
        if return_attention_scores:
            key = inputs[2] if len(inputs) > 2 else inputs[1]
            return output, KerasTensor((*inputs[0].shape[:-1], key.shape[-2]), dtype)
        return output

    def _validate_inputs(self, inputs, mask=None):
        """Raises ValueError unless ``inputs`` is a list of 2 or 3 (and ``mask`` one of 2 or 3)."""
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{self.describe()}: a {name} layer must be called on a list of inputs, namely "
                             f"[query, value] or [query, value, key]; received inputs={inputs!r}")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{self.describe()}: a {name} layer accepts a list of 2 or 3 inputs, namely "
                             f"[query, value] or [query, value, key]; received {len(inputs)}")
        if mask is not None:
            if not isinstance(mask, (list, tuple)):
                raise ValueError(f"{self.describe()}: the mask must be a list, namely [query_mask, "
                                 f"value_mask]; received mask={mask!r}")
            if not 2 <= len(mask) <= 3:
                raise ValueError(f"{self.describe()}: the mask must be a list of 2 or 3 (query_mask, "
                                 f"value_mask), received {len(mask)}")

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


def _bool_mask(mask):
    """``mask`` as a boolean tensor (masks may arrive as 0/1 numbers or arrays), or None."""
    if mask is None:
        return None
    mask = ops.convert_to_tensor(mask)
    return mask if mask.dtype == "bool" else ops.cast(mask, "bool")
