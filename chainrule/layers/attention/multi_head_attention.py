"""MultiHeadAttention: scaled dot-product attention in several heads (Vaswani et al., 2017)."""

import math
import string

from chainrule import ops, regularizers
from chainrule._backend import numpy as np
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.activations.softmax import Softmax
from chainrule.layers.attention.attention import keras_mask, set_keras_mask
from chainrule.layers.core.einsum_dense import EinsumDense
from chainrule.layers.layer import Layer, format_shape, shape_tuple
from chainrule.layers.regularization.dropout import Dropout
from chainrule.ops.node import KerasTensor
from chainrule.random import check_rate


class MultiHeadAttention(Layer):
    """Multi-head attention, as Keras's layer of this name.

    ``query``, ``key`` and ``value`` are projected by EinsumDense layers named ``query``, ``key``
    and ``value`` to ``num_heads`` heads of ``key_dim`` (``value_dim``) features; each head
    computes ``softmax(q k^T / sqrt(key_dim)) v`` over the attention axes; the heads are
    projected back together by ``attention_output`` to the query's last axis (or
    ``output_shape``). The weights and their order are Keras's: query kernel
    ``(dim, num_heads, key_dim)`` and bias ``(num_heads, key_dim)``, then key, value, and the
    output kernel ``(num_heads, value_dim, dim)`` and bias ``(dim,)``.

    Args:
        num_heads: the number of attention heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default ``key_dim``).
        dropout: the dropout rate on the attention weights, in [0, 1).
        use_bias: whether the projections have biases.
        output_shape: the output's shape besides the batch and attention axes (an int or a tuple);
            by default the query's last axis.
        attention_axes: the axes attention runs over (an int or a tuple); by default all but the
            batch, heads and features axes.
        kernel_initializer, bias_initializer: initializers of the projections.
        kernel_regularizer, bias_regularizer, activity_regularizer: regularizers of the
            projections (passed to each of the four EinsumDense layers, as in Keras).
        kernel_constraint, bias_constraint: constraints of the projections.
        seed: accepted for Keras compatibility; dropout draws from the backend's generator.
        sliding_window, flash_attention, use_gate: Keras options that are not supported; a value
            other than the default raises ValueError.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Call arguments:
        query: ``(batch, T, dim)``. value: ``(batch, S, dim)``. key: ``(batch, S, dim)``, by
            default ``value``.
        query_mask, value_mask, key_mask: booleans ``(batch, T)``/``(batch, S)``; by default the
            masks the tensors carry (``Embedding(mask_zero=True)``). The query's own mask wins over
            ``query_mask``, as in Keras.
        attention_mask: booleans ``(batch, T, S)``: which query positions may attend to which key
            positions (broadcast over heads).
        return_attention_scores: also return the weights ``(batch, num_heads, T, S)``.
        training: whether dropout is active.
        use_causal_mask: position i attends only to positions j <= i.

    Output shape:
        ``(batch, T, dim)`` or ``(batch, T) + output_shape``. Output positions whose query is
        masked carry the query's mask.
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        for arg, value, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                     ("value_dim", value_dim, True)):
            if (value is not None or not optional) and (
                    not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise ValueError(f"MultiHeadAttention: received an invalid value for argument `{arg}`, "
                                 f"expected a positive integer{' or None' if optional else ''}; "
                                 f"received {arg}={value!r}")
        super().__init__(**kwargs)
        for arg, value, default in (("sliding_window", sliding_window, None),
                                    ("flash_attention", flash_attention, None), ("use_gate", use_gate, False)):
            if value not in (default, False) if arg == "flash_attention" else value != default:
                raise ValueError(f"{self.describe()}: {arg}={value!r} is not supported (only the default "
                                 f"{default!r})")
        self.supports_masking = True
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim if value_dim else key_dim
        self._dropout = check_rate(dropout, f"{self.name}: dropout")
        self._use_bias = bool(use_bias)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            if not isinstance(output_shape, (list, tuple)) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in output_shape):
                raise ValueError(f"{self.describe()}: invalid `output_shape` {output_shape!r}; when given, it "
                                 f"must be a positive int or a tuple or list of them")
            output_shape = tuple(output_shape)
        self._output_shape = output_shape or None
        self.check_initializers(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        self._kernel_initializer = kernel_initializer
        self._bias_initializer = bias_initializer
        # kept under Keras's private names; each projection gets them (activity_regularizer too:
        # the layer itself has none, each projection's output is penalized, as in Keras)
        set_penalties(self, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        self._activity_regularizer = regularizers.get(activity_regularizer,
                                                      where=f"{self.describe()}: activity_regularizer")
        if isinstance(attention_axes, int) and not isinstance(attention_axes, bool):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and (not isinstance(attention_axes, (list, tuple)) or not all(
                isinstance(a, int) and not isinstance(a, bool) for a in attention_axes)):
            raise ValueError(f"{self.describe()}: `attention_axes` must be an int, list, or tuple of ints; "
                             f"received attention_axes={attention_axes!r}")
        self._attention_axes = tuple(attention_axes) if attention_axes else None
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self._query_dense = self._key_dense = self._value_dense = self._output_dense = None

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._query_dense)
    key_dense = property(lambda self: self._key_dense)
    value_dense = property(lambda self: self._value_dense)
    output_dense = property(lambda self: self._output_dense)

    # --- building ---------------------------------------------------------------------------

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Creates the four projections for inputs of these shapes (batch axis first).

        ``value_shape`` is required; the base Layer's call passes only the query's shape, so
        ``__call__`` and ``compute_output_spec`` build with all three first."""
        if value_shape is None:
            raise ValueError(f"{self.describe()}: build needs the shapes of query and value, "
                             f"build(query_shape, value_shape, key_shape=None); received only "
                             f"query_shape={query_shape}")
        query_shape = _batchless(query_shape, f"{self.name}: query_shape")
        value_shape = _batchless(value_shape, f"{self.name}: value_shape")
        key_shape = value_shape if key_shape is None else _batchless(key_shape, f"{self.name}: key_shape")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(f"{self.describe()}: all dimensions of `value` and `key`, except the last one, "
                             f"must be equal; received value_shape={format_shape(value_shape)} and "
                             f"key_shape={format_shape(key_shape)}")
        if len(query_shape) != len(value_shape):
            raise ValueError(f"{self.describe()}: query and value must have the same rank; received "
                             f"query_shape={format_shape(query_shape)}, value_shape={format_shape(value_shape)}")
        self._query_dense = self._projection(query_shape, self._key_dim, "query")
        self._key_dense = self._projection(key_shape, self._key_dim, "key")
        self._value_dense = self._projection(value_shape, self._value_dim, "value")
        self._build_attention(len(value_shape) + 1)
        output_shape = self._output_shape or (query_shape[-1],)
        equation, bias_axes, output_rank = _build_proj_equation(len(query_shape) - 1, bound_dims=2,
                                                                output_dims=len(output_shape))
        self._output_dense = EinsumDense(equation, output_shape=_get_output_shape(output_rank - 1, output_shape),
                                         bias_axes=bias_axes if self._use_bias else None, name="attention_output",
                                         dtype=self.dtype, **self._sublayer_kwargs())
        heads_shape = list(self._query_dense.compute_output_shape(query_shape))
        heads_shape[-1] = self._value_dim
        self._output_dense.build(tuple(heads_shape))
        for dense in (self._query_dense, self._key_dense, self._value_dense, self._output_dense):
            for w in dense.weights:
                w.path = f"{self.name}/{w.path}"  # Keras's paths: "multi_head_attention/query/kernel"
        self.built = True
        self.input_shape = query_shape

    def _projection(self, shape, size, name):
        """An EinsumDense from ``shape``'s last axis to ``(num_heads, size)``, built."""
        equation, bias_axes, output_rank = _build_proj_equation(len(shape) - 1, bound_dims=1, output_dims=2)
        dense = EinsumDense(equation, output_shape=_get_output_shape(output_rank - 1, [self._num_heads, size]),
                            bias_axes=bias_axes if self._use_bias else None, name=name, dtype=self.dtype,
                            **self._sublayer_kwargs())
        dense.build(shape)
        return dense

    def _sublayer_kwargs(self):
        return dict(kernel_initializer=self._kernel_initializer, bias_initializer=self._bias_initializer,
                    kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
                    kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
                    activity_regularizer=self._activity_regularizer)

    def _build_attention(self, rank):
        """The einsum equations, softmax and dropout for projected tensors of ``rank``."""
        if self._attention_axes is None:
            self._attention_axes = tuple(range(1, rank - 2))
        else:
            self._attention_axes = tuple(a if a >= 0 else (rank - 1) + a for a in self._attention_axes)
            bad = [a for a in self._attention_axes if not 1 <= a < rank - 2]
            if bad:
                raise ValueError(f"{self.describe()}: attention_axes {self._attention_axes} do not fit inputs of "
                                 f"rank {rank - 1}: each must name an axis between the batch and the "
                                 f"features")
        self._dot_product_equation, self._combine_equation, scores_rank = _build_attention_equation(
            rank, self._attention_axes)
        norm_axes = tuple(range(scores_rank - len(self._attention_axes), scores_rank))
        self._softmax = Softmax(axis=list(norm_axes), dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype)

    def _build_for_inputs(self, query, value, key):
        if not self.built or self._query_dense is None:
            self.build(tuple(query.shape), tuple(value.shape), None if key is None else tuple(key.shape))

    # --- computing --------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        query, value, key = _call_inputs(args, kwargs)
        symbolic = any(isinstance(x, KerasTensor) for x in (query, value, key))
        if not self.built and not symbolic and query is not None and value is not None:
            # the base Layer builds from the first input only; the projections need all three
            self._build_for_inputs(*(None if x is None else ops.convert_to_tensor(x) for x in (query, value, key)))
        return super().__call__(*args, **kwargs)

    def build_for(self, input_shape):
        if not self.built:
            raise ValueError(f"{self.describe()}: call it with both query and value "
                             f"(layer(query, value)); received only one input of shape {input_shape}")
        self._accepted_shape = input_shape

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores=False, training=None, use_causal_mask=False):
        value = self._floats(value, "value")
        key = value if key is None else self._floats(key, "key")
        query_mask = keras_mask(query) if keras_mask(query) is not None else query_mask
        value_mask = value_mask if value_mask is not None else keras_mask(value)
        key_mask = key_mask if key_mask is not None or key is value else keras_mask(key)
        attention_mask = self._compute_attention_mask(query, value, query_mask, value_mask, key_mask,
                                                      attention_mask, use_causal_mask)
        # the projections do not take masks (Keras takes them off the inputs first); they are
        # put back afterwards, so the caller's tensors keep theirs
        carried = [(x, keras_mask(x)) for x in (query, key, value)]
        for x, _ in carried:
            set_keras_mask(x, None)
        try:
            q = self._query_dense(query)  # (b, T, dim) -> (b, T, heads, key_dim)
            k = self._key_dense(key)  # (b, S, dim) -> (b, S, heads, key_dim)
            v = self._value_dense(value)  # (b, S, dim) -> (b, S, heads, value_dim)
        finally:
            for x, mask in carried:
                set_keras_mask(x, mask)
        output, scores = self._compute_attention(q, k, v, attention_mask, training)
        output = self._output_dense(output)  # (b, T, heads, value_dim) -> (b, T, dim)
        if query_mask is not None:
            set_keras_mask(output, ops.convert_to_tensor(query_mask))
        return (output, scores) if return_attention_scores else output

    def _floats(self, x, what):
        x = ops.convert_to_tensor(x)
        if x.dtype.kind != "f" or x.dtype != self.dtype:
            mask = keras_mask(x)
            x = ops.cast(x, self.dtype)
            if mask is not None:
                set_keras_mask(x, mask)
        return x

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        """Attention of projected ``query``, ``key``, ``value``: the output ``(b, T, heads,
        value_dim)`` and the weights ``(b, heads, T, S)`` (for the default axes)."""
        # NOTE: the query is scaled before the product, as Keras does, so results match in float32
        query = query * self._inverse_sqrt_key_dim
        scores = ops.einsum(self._dot_product_equation, key, query)  # (b, heads, T, S)
        scores = self._masked_softmax(scores, attention_mask)
        dropped = self._dropout_layer(scores, training=training) if self._dropout > 0.0 else scores
        output = ops.einsum(self._combine_equation, dropped, value)  # (b, T, heads, value_dim)
        return output, scores

    def _masked_softmax(self, scores, attention_mask=None):
        """Softmax over the attention axes; masked positions get 0 (a wholly masked row is all
        zeros, as Keras's Softmax layer gives)."""
        if attention_mask is not None:
            axis = -len(self._attention_axes) * 2 - 1  # the heads axis: the mask broadcasts over it
            for _ in range(scores.ndim - attention_mask.ndim):
                attention_mask = ops.expand_dims(attention_mask, axis)
            return self._softmax(scores, mask=attention_mask)
        return self._softmax(scores)

    def _compute_attention_mask(self, query, value, query_mask=None, value_mask=None, key_mask=None,
                                attention_mask=None, use_causal_mask=False):
        """The boolean mask ``(b, T, S)`` (or broadcastable to it): the AND of the query mask
        ``(b, T, 1)``, the value and key masks ``(b, 1, S)``, the causal mask ``(1, T, S)`` and
        ``attention_mask``; None if there is none."""
        auto = None
        for mask, axis in ((query_mask, -1), (value_mask, -2), (key_mask, -2)):
            if mask is not None:
                mask = ops.expand_dims(_as_bool(mask), axis)
                auto = mask if auto is None else ops.logical_and(auto, mask)
        if use_causal_mask:
            mask = self._compute_causal_mask(query, value)
            auto = mask if auto is None else ops.logical_and(auto, mask)
        if attention_mask is not None:
            attention_mask = _as_bool(attention_mask)
        if auto is not None:
            attention_mask = auto if attention_mask is None else ops.logical_and(attention_mask, auto)
        return attention_mask

    def _compute_causal_mask(self, query, value=None):
        """The lower triangular ``(1, T, S)`` mask: position i sees positions j <= i."""
        t = query.shape[1]
        s = t if value is None else value.shape[1]
        return ops.convert_to_tensor(np.tril(np.ones((1, t, s), dtype=bool)))

    # --- shapes and configuration -----------------------------------------------------------

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(f"{self.describe()}: all dimensions of `value` and `key`, except the last one, "
                                 f"must be equal; received value_shape={value_shape} and key_shape={key_shape}")
        if self._output_shape:
            return query_shape[:-1] + self._output_shape
        return query_shape

    def compute_output_spec(self, query, value=None, key=None, query_mask=None, value_mask=None, key_mask=None,
                            attention_mask=None, return_attention_scores=False, training=None,
                            use_causal_mask=False, **kwargs):
        if value is None:
            raise TypeError(f"{self.describe()}: call() is missing the argument 'value'")
        self._build_for_inputs(query, value, key)
        dtype = self.dtype
        output = KerasTensor(self.compute_output_shape(query.shape, value.shape,
                                                       None if key is None else key.shape), dtype)
        if not return_attention_scores:
            return output
        # the weights' shape: (batch, non-attention axes, heads, query attention axes, key attention axes)
        rank = len(query.shape) + 1
        batch = [query.shape[i] for i in range(rank - 1) if i not in self._attention_axes and i != rank - 2]
        scores_shape = (batch + [self._num_heads] + [query.shape[a] for a in self._attention_axes]
                        + [value.shape[a] for a in self._attention_axes])
        return output, KerasTensor(tuple(scores_shape), dtype)

    def get_config(self):
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": False, "output_shape": None if self._output_shape is None else list(self._output_shape),
                "attention_axes": None if self._attention_axes is None else list(self._attention_axes),
                "sliding_window": None, "kernel_initializer": self._kernel_initializer,
                "bias_initializer": self._bias_initializer,
                **penalties_config(self, "kernel_regularizer", "bias_regularizer", "kernel_constraint",
                                   "bias_constraint"),
                "activity_regularizer": regularizers.serialize(self._activity_regularizer), "seed": self.seed}


def _call_inputs(args, kwargs):
    """(query, value, key) from a call's arguments, each possibly None."""
    names = ("query", "value", "key")
    found = list(args[:3]) + [None] * (3 - len(args[:3]))
    for i, name in enumerate(names):
        if name in kwargs:
            found[i] = kwargs[name]
    return tuple(found)


def _batchless(shape, where):
    """``shape`` as a tuple with the batch axis left open (None)."""
    shape = tuple(shape_tuple(tuple(shape), where))
    return (None,) + shape[1:]


def _as_bool(mask):
    mask = ops.convert_to_tensor(mask)
    return mask if mask.dtype == "bool" else ops.cast(mask, "bool")


def _build_attention_equation(rank, attn_axes):
    """Keras's einsum equations for projected tensors ``(batch, <other axes>, <attention axes>,
    heads, channels)`` of ``rank``: key-query products to ``(batch, <other>, heads, <query
    attention>, <key attention>)`` and the combination of those weights with the values back to
    the query's layout; and the rank of the weights."""
    target = string.ascii_lowercase[:rank]
    batch_dims = tuple(i for i in range(rank) if i not in attn_axes + (rank - 1,))
    letter = rank
    source = ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += string.ascii_lowercase[letter]
            letter += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def _build_proj_equation(free_dims, bound_dims, output_dims):
    """Keras's projection equation: ``free_dims`` axes pass through, ``bound_dims`` are
    contracted with the kernel, ``output_dims`` come from it (and carry the bias)."""
    letters = string.ascii_lowercase
    free = letters[:free_dims]
    bound = letters[free_dims:free_dims + bound_dims]
    out = letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def _get_output_shape(output_rank, known_last_dims):
    return [None] * (output_rank - len(known_last_dims)) + list(known_last_dims)
