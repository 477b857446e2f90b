"""EinsumDense: a dense layer written as an einsum, the projections inside MultiHeadAttention."""

import re

from chainrule import activations, initializers
from chainrule.layers._penalties import penalties_config, set_penalties
from chainrule.layers.layer import InputSpec, Layer, format_shape
from chainrule.ops import numpy as ops

_PENALTIES = ("kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint")


class EinsumDense(Layer):
    """A dense layer of any rank: ``activation(einsum(equation, inputs, kernel) + bias)``.

    The kernel's shape is read from ``equation``: each of its letters takes the size of the same
    letter in the input or in ``output_shape``.

    Args:
        equation: ``"ab,bc->ac"`` style: the input's letters, the kernel's, and the output's. A
            leading ``...`` on the input and output (``"...b,bc->...c"``) stands for any number of
            leading axes, as in Keras.
        output_shape: the output's shape without the batch axis (an int for one axis); None
            where an axis's size comes from the input.
        activation: an activation name or function (None: linear).
        bias_axes: the output letters the bias spans (None: no bias).
        kernel_initializer: initializer of the kernel; a variance-scaling one (glorot_uniform, the
            default) takes its fans from the kernel's input and output letters, as in Keras.
        bias_initializer: initializer of the bias (zeros).
        kernel_regularizer, bias_regularizer: penalties on the kernel and the bias.
        kernel_constraint, bias_constraint: projections applied after each update.
        lora_rank, lora_alpha: Keras's LoRA fine-tuning; not supported (ValueError if set).
        **kwargs: the base Layer's arguments (``name``, ``dtype``, ``activity_regularizer``...).

    Input shape:
        As ``equation``'s input term. Output shape: ``(batch,) + output_shape``.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, **kwargs):
        if "quantization_config" in kwargs and kwargs["quantization_config"] is None:
            del kwargs["quantization_config"]  # Keras writes it in every config; only None is supported
        super().__init__(**kwargs)
        if lora_rank is not None or lora_alpha is not None:
            raise ValueError(f"{self.describe()}: lora_rank and lora_alpha (LoRA fine-tuning) are not "
                             f"supported, received lora_rank={lora_rank!r}, lora_alpha={lora_alpha!r}")
        if not isinstance(equation, str) or not _parse(equation):
            raise ValueError(f"{self.describe()}: invalid einsum equation {equation!r}; expected the form "
                             f"'[X],[Y]->[Z]', '...[X],[Y]->...[Z]' or '[X]...,[Y]->[Z]...' (letters only)")
        self.equation = equation
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        if not isinstance(output_shape, (list, tuple)) or not all(
                d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0) for d in output_shape):
            raise ValueError(f"{self.describe()}: output_shape must be an int or a list of positive ints "
                             f"and None, received {output_shape!r}")
        self.partial_output_shape = tuple(output_shape)
        output_letters = _parse(equation)[2]
        if bias_axes is not None and (not isinstance(bias_axes, str) or not set(bias_axes) <= set(output_letters)):
            raise ValueError(f"{self.describe()}: bias_axes must be a string of the output's letters "
                             f"{output_letters!r}, received {bias_axes!r}")
        self.bias_axes = bias_axes
        self.activation = activations.get(activation, where=f"{self.name}: activation")
        self.check_initializers(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        set_penalties(self, kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = self._analyze(input_shape)
        self.input_spec = InputSpec(ndim=len(input_shape))
        init = initializers.get(self.kernel_initializer, where=f"{self.name}/kernel")
        if isinstance(init, initializers.VarianceScaling) and (init.input_axes is None
                                                               or init.output_axes is None):
            # fans from the kernel's input and output letters, as Keras's EinsumDense sets them
            init = type(init).from_config({**init.get_config(), "input_axes": input_axes,
                                           "output_axes": output_axes})
        self.kernel = self.add_weight("kernel", kernel_shape, init, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight("bias", bias_shape, self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call(self, x, training=False):
        y = ops.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias  # the bias spans bias_axes; shaped to broadcast over the others
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return self._analyze(input_shape)[2]

    def _analyze(self, input_shape):
        """(kernel shape, bias shape or None, output shape, kernel input axes, kernel output
        axes) for inputs of ``input_shape``, or a ValueError naming the layer."""
        try:
            return _analyze(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        except ValueError as error:
            raise ValueError(f"{self.describe()}: equation {self.equation!r} with output_shape "
                             f"{self.partial_output_shape} and inputs of shape {format_shape(input_shape)}: "
                             f"{error}") from None

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape),
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes, "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer, **penalties_config(self, *_PENALTIES)}


def _parse(equation):
    """(input letters, kernel letters, output letters, whether ``...`` leads) of an equation of
    one of Keras's three forms, or None."""
    spec = equation.replace("...", "0")
    for pattern, left in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False)):
        match = re.fullmatch(pattern, spec)
        if match:
            return match.group(1), match.group(2), match.group(3), left
    return None


def _analyze(equation, bias_axes, input_shape, partial_output_shape):
    """Keras's shape analysis of an EinsumDense equation (see ``_analyze_split_string`` in
    Keras): the full output shape, then each kernel letter's size from the output or input."""
    input_spec, weight_spec, output_spec, left_elided = _parse(equation)
    elided = len(input_shape) - len(input_spec)
    if elided < 0:
        raise ValueError(f"the input term {input_spec!r} has more letters than the input has axes")
    output_shape = [input_shape[0]] + list(partial_output_shape)
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0:
        output_shape.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        input_dim = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_dim = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_dim = {d: i for i, d in enumerate(input_spec)}
        output_dim = {d: i for i, d in enumerate(output_spec)}
    if len(output_shape) != len(output_spec) + max(elided, 0):
        raise ValueError(f"output_shape has {len(partial_output_shape)} axes, which do not fit the output "
                         f"term {output_spec!r}")
    for d in input_spec:
        if d in output_dim:
            size = output_shape[output_dim[d]]
            if size is not None and size != input_shape[input_dim[d]]:
                raise ValueError(f"letter {d!r} has size {input_shape[input_dim[d]]} in the input and "
                                 f"{size} in output_shape")
    for d in output_spec:
        if d not in input_spec and d not in weight_spec:
            raise ValueError(f"output letter {d!r} is in neither the input term {input_spec!r} nor the "
                             f"kernel term {weight_spec!r}")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(weight_spec):
        if d in output_dim:
            kernel_shape.append(output_shape[output_dim[d]])
            output_axes.append(i)
        elif d in input_dim:
            kernel_shape.append(input_shape[input_dim[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"kernel letter {d!r} is in neither the input term {input_spec!r} nor the "
                             f"output term {output_spec!r}")
    if None in kernel_shape:
        raise ValueError(f"the kernel's shape {tuple(kernel_shape)} is not fully known")
    bias_shape = None
    if bias_axes is not None:
        offset = elided if left_elided else 0
        sizes = {d: output_shape[i + offset] for i, d in enumerate(output_spec)}
        first = min(output_spec.find(d) for d in bias_axes)
        bias_shape = [sizes[d] if d in bias_axes else 1 for d in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)  # the trailing elided axes broadcast
    return tuple(kernel_shape), None if bias_shape is None else tuple(bias_shape), tuple(output_shape), \
        input_axes, output_axes
