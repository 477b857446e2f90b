"""Lambda: a Python function of tensors wrapped as a layer."""

import inspect

from chainrule import _backend
from chainrule.layers.layer import Layer, is_shape, shape_tuple
from chainrule.ops.node import any_symbolic
from chainrule.tensor import Tensor


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
            own, and to one accepting ``mask`` the input's mask (or None), as Keras does.
        output_shape: the output's shape, if it should not be inferred: a tuple without the batch
            axis (the input's batch size is put in front), or a function of the input shape
            returning the whole output shape. When None, the shape is found by calling the layer
            on zeros, with each unknown axis (None) given two different sizes; an output axis
            whose size follows them is unknown (None) too.
        mask: the output's mask, as in Keras: None (the default: the layer does not support
            masking, so an input's mask stops here, with a warning), a function
            ``mask(inputs, previous_mask)`` returning it, or a fixed boolean array.
        arguments: a dict of keyword arguments passed to ``function`` on every call.
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).

    Input shape:
        Whatever ``function`` accepts.

    Output shape:
        ``output_shape``, or the inferred shape.

    Raises:
        ValueError: for a function that is not callable, or a malformed ``output_shape`` or
            ``arguments``.
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"{self.describe()}: function must be callable, received {function!r}")
        if output_shape is not None and not callable(output_shape):
            output_shape = shape_tuple(output_shape, f"{self.describe()}: output_shape")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict) or not all(isinstance(key, str) for key in arguments):
            raise ValueError(f"{self.describe()}: arguments must be a dict of keyword arguments, "
                             f"received {arguments!r}")
        self.function = function
        self.arguments = dict(arguments)
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        self._passes_training = _accepts(function, "training")
        self._passes_mask = _accepts(function, "mask")

    def call(self, inputs, mask=None, training=False):
        kwargs = dict(self.arguments)
        if self._passes_mask:
            kwargs["mask"] = mask
        if self._passes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        """``mask(inputs, previous_mask)`` for a function, the fixed mask otherwise (Keras's)."""
        if callable(self.mask):
            if any_symbolic((inputs,)):
                try:
                    return self.mask(inputs, mask)
                except Exception:  # noqa: BLE001  a function written for data: no symbolic mask
                    return None
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return self.traced_output_shape(input_shape)
        if callable(self._output_shape):
            shape = self._output_shape(input_shape)
            return tuple(shape) if is_shape(shape) else shape
        first = input_shape[0] if input_shape and not is_shape(input_shape) else input_shape
        batch = first[0] if first else None
        return (batch,) + self._output_shape

    def compute_output_spec(self, *args, **kwargs):
        if self._output_shape is None:
            return self._trace(args, kwargs)  # the dtype too, from running the function
        return super().compute_output_spec(*args, **kwargs)

    def get_config(self):
        output_shape = self._output_shape
        if callable(output_shape):
            output_shape = self._function_name(output_shape, "output_shape")
        elif output_shape is not None:
            output_shape = list(output_shape)
        config = {**super().get_config(), "function": self._function_name(self.function, "function"),
                  "output_shape": output_shape, "arguments": dict(self.arguments)}
        if self.mask is not None:
            config["mask"] = self._mask_config()
        return config

    def _mask_config(self):
        """The mask as a configuration holds it: a function's name, or a fixed mask's values."""
        if callable(self.mask):
            return self._function_name(self.mask, "mask")
        return _backend.as_array(self.mask.data if isinstance(self.mask, Tensor) else self.mask,
                                 where=f"{self.describe()}: mask").tolist()

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
        for key in ("function", "output_shape", "mask"):
            if isinstance(config.get(key), str):
                raise ValueError(
                    f"Lambda.from_config: {key} is the name {config[key]!r}, not a function; a "
                    f"Lambda's function must be registered (chainrule.saving.register) or passed "
                    f"in custom_objects to be loaded"
                )
        return cls(**config)


def _accepts(function, name):
    """Whether ``function`` takes an argument called ``name``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # some builtins have no signature
        return False
    parameter = parameters.get(name)
    return parameter is not None and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD,
                                                        parameter.KEYWORD_ONLY)
