"""AdditiveAttention: Bahdanau-style attention, scores from ``tanh(query + key)``."""

from chainrule import ops
from chainrule.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: the score of a query and a key is
    ``sum(scale * tanh(query + key))`` over the features, then softmax over the values as in
    :class:`Attention` (same call arguments, masks and outputs).

    Args:
        use_scale: whether to learn a per-feature ``scale`` vector of shape ``(dim,)``
            (glorot_uniform); without it the scale is 1.
        dropout: the fraction of attention weights to drop during training, in [0, 1).
        **kwargs: the base Layer's arguments (``name``, ``dtype``...) and ``seed``.

    Output shape:
        ``(batch, Tq, dim)`` (and ``(batch, Tq, Tv)`` with ``return_attention_scores``).
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        if kwargs.get("score_mode", "dot") != "dot":
            raise ValueError(f"AdditiveAttention: score_mode is not an argument of this layer, "
                             f"received score_mode={kwargs['score_mode']!r}")
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight("scale", (input_shape[0][-1],), "glorot_uniform")

    def _calculate_scores(self, query, key):
        q = ops.expand_dims(query, -2)  # (b, Tq, 1, d)
        k = ops.expand_dims(key, -3)  # (b, 1, Tv, d)
        terms = ops.tanh(q + k)  # (b, Tq, Tv, d)
        return ops.sum(self.scale * terms if self.use_scale else terms, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
