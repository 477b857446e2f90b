"""Lambda: a Python function of tensors wrapped as a layer."""

import inspect

from chainrule.autograd import no_grad
from chainrule._backend import xp
from chainrule.layers.layer import Layer, format_shape, shape_tuple
from chainrule.tensor import zeros

# The sizes that stand in for each unknown (None) axis when the output shape is inferred.
_TRIAL_SIZES = (2, 3)


class Lambda(Layer):
    """Calls ``function(inputs, **arguments)``: an expression of tensor operations as a layer.

    ``Lambda`` runs arbitrary user code: ``function`` runs on every call, and also, on arrays of
    zeros, whenever the layer infers its output shape. Its gradient is autodiff's gradient of
    whatever ``function`` computes with chainrule's operations (a result computed through NumPy
    arrays has none). For anything with weights, or to save and inspect a model portably, write
    a subclass of :class:`Layer` instead.

    Saving stores only the function's name. Loading never imports or evaluates code from a file:
    it finds the function among those the caller registers (``chainrule.saving.register``) or
    passes in ``custom_objects``. A lambda expression has no name, so a model holding one cannot
    be saved; define the function with ``def`` and register it.

    Args:
        function: the function, called with the layer's input (a tensor, or a list of tensors)
            as its first argument. If it accepts a ``training`` argument, the layer passes its
            own (and ``mask=None`` to one accepting ``mask``), as Keras does.
        output_shape: the output's shape, if it should not be inferred: a tuple without the batch
            axis (the input's batch size is put in front), or a function of the input shape
            returning the whole output shape. When None, the shape is found by calling the layer
            on zeros, with each unknown axis (None) given two different sizes; an output axis
            whose size follows them is unknown (None) too.
        mask: must be None; chainrule has no masking yet.
        arguments: a dict of keyword arguments passed to ``function`` on every call.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        Whatever ``function`` accepts.

    Output shape:
        ``output_shape``, or the inferred shape.

    Raises:
        ValueError: for a function that is not callable, a malformed ``output_shape`` or
            ``arguments``, or a ``mask``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"{self.describe()}: function must be callable, received {function!r}")
        if output_shape is not None and not callable(output_shape):
            output_shape = shape_tuple(output_shape, f"{self.describe()}: output_shape")
        if mask is not None:
            raise ValueError(f"{self.describe()}: mask must be None (chainrule has no masking yet), "
                             f"received {mask!r}")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict) or not all(isinstance(key, str) for key in arguments):
            raise ValueError(f"{self.describe()}: arguments must be a dict of keyword arguments, "
                             f"received {arguments!r}")
        self.function = function
        self.arguments = dict(arguments)
        self.mask = None
        self._output_shape = output_shape
        self._passes_training = _accepts(function, "training")
        self._passes_mask = _accepts(function, "mask")

    def call(self, inputs, training=False):
        kwargs = dict(self.arguments)
        if self._passes_mask:
            kwargs["mask"] = None
        if self._passes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return infer_output_shape(self, input_shape)
        if callable(self._output_shape):
            shape = self._output_shape(input_shape)
            return tuple(shape) if _is_shape(shape) else shape
        first = input_shape[0] if input_shape and not _is_shape(input_shape) else input_shape
        batch = first[0] if first else None
        return (batch,) + self._output_shape

    def get_config(self):
        output_shape = self._output_shape
        if callable(output_shape):
            output_shape = self._function_name(output_shape, "output_shape")
        elif output_shape is not None:
            output_shape = list(output_shape)
        return {**super().get_config(), "function": self._function_name(self.function, "function"),
                "output_shape": output_shape, "arguments": dict(self.arguments)}

    def _function_name(self, function, argument):
        name = getattr(function, "__name__", None)
        if not isinstance(name, str) or name == "<lambda>":
            what = "a lambda expression" if name == "<lambda>" else f"a {type(function).__name__} object"
            raise ValueError(
                f"{self.describe()}: cannot save its {argument}, {what}: a saved Lambda holds only "
                f"the function's name, and {what} has none to be found by when loading. To save it, "
                f"define the function with def and register it (chainrule.saving.register), or pass "
                f"it in custom_objects when loading"
            )
        return name

    @classmethod
    def from_config(cls, config):
        """Makes the layer from ``config``, whose ``function`` (and ``output_shape``, when it
        was a function) the loader has already replaced by the callable.

        Raises:
            ValueError: if one is still a name: nothing registered or passed in
                ``custom_objects`` had that name.
        """
        config = dict(config)
        for key in ("function", "output_shape"):
            if isinstance(config.get(key), str):
                raise ValueError(
                    f"Lambda.from_config: {key} is the name {config[key]!r}, not a function; a "
                    f"Lambda's function must be registered (chainrule.saving.register) or passed "
                    f"in custom_objects to be loaded"
                )
        return cls(**config)


def infer_output_shape(layer, input_shape):
    """The output shape of ``layer`` for inputs of ``input_shape`` (one shape, or a list of
    shapes), found by calling ``layer.call`` on zeros.

    It calls twice, each unknown axis taking the size 2, then 3; an output axis whose size
    differs between the two calls is reported as None. An output that is a list or tuple of
    tensors gives a list of shapes.

    Raises:
        ValueError: naming the layer, when the calls fail or their outputs differ in rank.
    """
    outputs = []
    try:
        # NOTE: zeros can make nan or inf (x / sum(x)); only the shapes matter here.
        with no_grad(), xp.errstate(all="ignore"):
            for size in _TRIAL_SIZES:
                inputs = _map_shapes(lambda shape: zeros(tuple(size if d is None else d for d in shape),
                                                          dtype=layer.dtype), input_shape)
                outputs.append(_map_outputs(lambda x: tuple(x.shape), layer.call(inputs)))
    except Exception as error:
        raise ValueError(f"{layer.describe()} could not infer its output shape for inputs of shape "
                         f"{input_shape!r}: calling it on zeros raised {type(error).__name__}: "
                         f"{error}. Pass output_shape to give it") from error
    return _merge_shapes(layer, *outputs)


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(d is None or isinstance(d, int) for d in value)


def _map_shapes(function, input_shape):
    if _is_shape(input_shape):
        return function(input_shape)
    return [_map_shapes(function, shape) for shape in input_shape]


def _map_outputs(function, outputs):
    if isinstance(outputs, (list, tuple)):
        return [_map_outputs(function, output) for output in outputs]
    if not hasattr(outputs, "shape"):
        raise TypeError(f"the function returned {type(outputs).__name__}, not a tensor")
    return function(outputs)


def _merge_shapes(layer, first, second):
    """``first`` where it agrees with ``second``, None on the axes where they differ."""
    if isinstance(first, list):
        if not isinstance(second, list) or len(first) != len(second):
            raise ValueError(f"{layer.describe()}: the number of outputs depends on the input's unknown "
                             f"axes; pass output_shape")
        return [_merge_shapes(layer, a, b) for a, b in zip(first, second)]
    if isinstance(second, list) or len(first) != len(second):
        raise ValueError(f"{layer.describe()}: the output's rank depends on the input's unknown axes "
                         f"(outputs of shapes {format_shape(first)} and {format_shape(second)}); "
                         f"pass output_shape")
    return tuple(a if a == b else None for a, b in zip(first, second))


def _accepts(function, name):
    """Whether ``function`` takes an argument called ``name``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD,
                                                        parameter.KEYWORD_ONLY)
