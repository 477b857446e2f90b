"""Layer: the base class of every layer, with Keras's life cycle.

``__init__`` validates and stores the configuration; ``build(input_shape)`` creates the weights
with :meth:`Layer.add_weight` the first time the layer sees an input shape; ``call(x, training)``
is the math, written with tensor operations so autodiff gives its gradient;
``compute_output_shape`` gives shapes without data (``summary()`` and shape errors use it).
"""

import contextlib
import functools
import inspect
import math
import threading
import warnings

from chainrule import autograd, _backend, constraints, initializers, recording, regularizers, variables
# the shape helpers are imported from here by the layers and models as well
from chainrule.layers.input_spec import (InputSpec, format_shape, is_shape, map_shapes,  # noqa: F401
                                         shape_difference, shape_tuple)
from chainrule.layers.masking_utils import (any_mask, get_keras_mask, is_tensor_argument,
                                            mask_parameters, masks_of)
from chainrule.ops.node import KerasTensor, Node, any_symbolic
from chainrule.tensor import Tensor
from chainrule.utils import tree
from chainrule.utils.naming import snake_case, unique_name  # noqa: F401  (layers import them from here)
from chainrule.variables import Variable


class _Budget(threading.local):
    """While set (see :func:`weight_budget`), how many more weight values layers may create, and
    how many values a placeholder or a recorded operation may hold while a file's graph is
    rebuilt (``sample_limit``).

    One per thread: a model loading in one thread does not limit (or spend the budget of) models
    built in another."""

    def __init__(self):
        self.remaining = None
        self.sample_limit = None


_weight_budget = _Budget()


@contextlib.contextmanager
def weight_budget(values, sample_limit=None):
    """Within this block, layers may create at most ``values`` weight values in all; one more
    raises ValueError before anything is allocated. Loading a model file sets it to the number
    of values the file holds, so a description of a huge layer cannot exhaust memory.

    ``sample_limit`` bounds, in the same block, the values of one sample that the symbolic calls
    rebuilding a graph may work with (the placeholders a layer is traced on, the size an op
    node may expand to), so a file's shapes cannot exhaust memory either."""
    previous = _weight_budget.remaining, _weight_budget.sample_limit
    _weight_budget.remaining, _weight_budget.sample_limit = values, sample_limit
    try:
        yield
    finally:
        _weight_budget.remaining, _weight_budget.sample_limit = previous


def check_sample_size(values, what):
    """Raises ValueError when ``values`` exceed the sample limit of a load in progress."""
    limit = _weight_budget.sample_limit
    if limit is not None and values > limit:
        raise ValueError(f"{what}: {values} values per sample exceed the {limit} this file may "
                         f"ask for (a bound set by the number of weights it holds)")


class _CallContext(threading.local):
    """What an outer layer's call passes down to the layers it calls, one per thread.

    ``training`` is the flag of the nearest enclosing call that had one: a layer called inside
    another's ``call`` without ``training=`` inherits it, as in Keras, so a subclassed model's
    ``self.dropout(x)`` drops out during ``fit``. ``tracing`` is set while a layer runs on
    placeholder data to learn its output's shape (see :meth:`Layer.compute_output_spec`):
    ``add_loss`` records nothing then."""

    def __init__(self):
        self.training = None
        self.depth = 0
        self.tracing = False


_call_context = _CallContext()
_adds_losses = False  # whether any layer ever called add_loss (else no call clears losses)
_UNTRACKED = frozenset({"_own_weights", "_sublayers", "_inbound_nodes", "_init_arguments", "_losses",
                        "_tracking_cache"})


def _to_tensor(value, dtype):
    if isinstance(value, Tensor):
        x = value
    elif isinstance(value, (_backend.numpy.ndarray, _backend.numpy.generic, int, float)) and not isinstance(value, bool):
        x = Tensor(value)
    else:
        return value  # None, strings, ... pass to call as they are
    if dtype is not None and x.dtype.kind == "f" and x.dtype != dtype:
        mask = x._keras_mask
        x = x.astype(dtype)
        if mask is not None:
            x._keras_mask = mask  # a cast keeps the mask, as in Keras
    return x


def _is_numbers(value):
    """A (nested) Python list of numbers: data, not a list of inputs."""
    if isinstance(value, (list, tuple)):
        return all(_is_numbers(item) for item in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _call_signature(call):
    """``(takes training, default of training, takes mask, position of training)`` for a
    ``call`` method (the position among the arguments after ``self``, or None)."""
    parameters = inspect.signature(call).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    training = parameters.get("training")
    default = None if training is None or training.default is inspect.Parameter.empty else training.default
    positional = [name for name, p in parameters.items()
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD][1:]
    position = positional.index("training") if "training" in positional else None
    return (training is not None or takes_any, default, "mask" in parameters or takes_any, position)


class Layer:
    """Base class of layers.

    Args:
        name: the layer's name; by default the class name in snake case, numbered when repeated
            (``dense``, ``dense_1``...).
        trainable: whether the optimizer updates the layer's weights.
        dtype: the dtype of the weights (float32 by default).
        input_shape: the shape of one sample (no batch axis), for the first layer of a model.
        batch_input_shape: the same with the batch axis (usually None) in front.
        input_dim: for 2-D inputs, the same as ``input_shape=(input_dim,)``.
        activity_regularizer: a regularizer (``"l2"``, a Regularizer, a description dict or a
            function) whose penalty on each output, divided by the batch size, joins
            :attr:`losses` after every call; None by default.

    Layers, models and variables assigned as attributes (alone, or in lists, tuples and dicts)
    are tracked: their weights are this layer's weights, as in Keras.
    """

    input_spec = None  # an InputSpec, set by subclasses (usually in build)
    _call_takes_training, _call_training_default, _call_takes_mask, _call_training_position = True, False, False, 1
    _call_parameters, _call_names_masks = ("x", "training"), False
    _autocast = True  # floating inputs are cast to the layer's dtype (a functional model: to its Inputs')
    _adjusts_input_rank = False  # a model with declared inputs fits their rank (_adjust_input_rank)

    def __init_subclass__(cls, **kwargs):
        # As in Keras, a layer is built once its build() returns, whoever called it; a second
        # call does nothing (it would create a second set of weights).
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])
        if "call" in cls.__dict__:
            # Keras passes training= and mask= only to a call that accepts them
            (cls._call_takes_training, cls._call_training_default, cls._call_takes_mask,
             cls._call_training_position) = _call_signature(cls.__dict__["call"])
            cls._call_parameters, cls._call_names_masks = mask_parameters(cls.__dict__["call"])

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        layer._init_arguments = (args, kwargs)  # for get_config of user layers that do not write one
        return layer

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, activity_regularizer=None, **unknown):
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown keyword arguments {sorted(unknown)}"
            )
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string without "
                             f"'/', received {name!r}")
        # a penalty on the layer's outputs (see _regularize_activity); settable later, as in Keras
        self.activity_regularizer = regularizers.get(
            activity_regularizer, where=f"{name or type(self).__name__}: activity_regularizer")
        self.dtype = _backend.float_dtype(dtype, type(self).__name__) if dtype else _backend.default_dtype()
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self._trainable = bool(trainable)
        self._own_weights = []
        self._sublayers = []
        self._inbound_nodes = []
        self._losses = []
        self.input_shape = None  # the batch shape seen by build, batch axis None
        self._accepted_shape = None  # the last input shape that passed the checks
        self._declared_input_shape = None
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            batch_input_shape = (None,) + shape_tuple(input_shape, f"{self.name}: input_shape")
        if batch_input_shape is not None:
            self._declared_input_shape = shape_tuple(batch_input_shape, f"{self.name}: batch_input_shape")

    # --- life cycle -------------------------------------------------------------------------

    def build(self, input_shape):
        """Creates the weights for inputs of ``input_shape`` (batch axis first, may be None)."""

    def call(self, x, training=False):
        raise NotImplementedError(f"{type(self).__name__} has no call(); a layer subclass "
                                  f"defines call(self, inputs) with its computation")

    def compute_output_shape(self, input_shape):
        """The output's shape for an input of ``input_shape``. A layer that does not define it
        is run on zeros of that shape to find out (see :meth:`compute_output_spec`), as Keras
        traces a layer without one."""
        return self.traced_output_shape(input_shape)

    def build_for(self, input_shape):
        """Builds the layer for ``input_shape`` if it is not built yet, then checks the shape
        against the layer's InputSpec. A structure of shapes (a layer called on a list of
        inputs) goes to ``build`` as it is.

        The declared input shape (``input_shape=``) is not checked here: as in Keras 3, it is
        the shape of the Input a Sequential model makes for its first layer, and the model
        checks it (see ``Sequential.output_shape_for``); a layer called on its own ignores it."""
        if self.built and input_shape == self._accepted_shape:
            return  # the shape of the previous batch, already checked
        if not is_shape(input_shape):
            if not self.built:
                self.build(input_shape)
            self._accepted_shape = input_shape
            return
        input_shape = shape_tuple(input_shape, f"{self.name}: input shape")
        if not self.built:
            self.build((None,) + tuple(input_shape[1:]))
        if self.input_spec is not None:
            self.input_spec.check(self, input_shape)
        self._accepted_shape = input_shape

    def _check_declared(self, input_shape, who=None):
        """Raises if ``input_shape`` differs from the declared input shape, naming ``who``
        declared it (this layer unless given) and the axis that differs."""
        declared = self._declared_input_shape
        if declared is None:
            return
        difference = shape_difference(declared, input_shape)
        if difference:
            raise ValueError(
                f"{who or self.describe()} was declared with input shape {format_shape(declared)} "
                f"but received an input of shape {format_shape(input_shape)}: {difference}"
            )

    def describe(self):
        """How error messages name this layer: ``Layer "dense" (Dense)``."""
        return f'Layer "{self.name}" ({type(self).__name__})'

    def output_shape_for(self, input_shape):
        """Builds the layer for ``input_shape`` if needed and returns its output shape."""
        self.build_for(input_shape)
        return tuple(self.compute_output_shape(tuple(input_shape)))

    def __call__(self, *args, **kwargs):
        """Builds and checks the layer for its input's shape, casts floating inputs to the
        layer's dtype and runs :meth:`call`; on symbolic inputs (``Input()``), records a node of
        the Functional API's graph instead and returns symbolic outputs.

        The first argument is the input: a tensor, an array, or a list or dict of them. Integers
        pass as they are, as in Keras: they may be ids (an Embedding reads them, and a Flatten or
        Reshape before it must not round 2**24 + 1 to float32). ``training`` and ``mask`` reach
        :meth:`call` only if it accepts them; without ``training=``, a layer called inside
        another's call takes the outer call's flag.
        """
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"{self.describe()}: called without an input")
            args = (kwargs.pop("inputs"),)
        if any_symbolic(args, kwargs):
            return self._symbolic_call(args, kwargs)
        inputs = args[0]
        dtype = self.dtype if self._autocast else None
        if _is_numbers(inputs) or not isinstance(inputs, (list, tuple, dict)):
            inputs = _to_tensor(inputs if not isinstance(inputs, (list, tuple)) else
                                _backend.numpy.asarray(inputs), dtype)
            if self._adjusts_input_rank:
                inputs = self._adjust_input_rank(inputs)
            self.build_for(inputs.shape)
        else:
            inputs = tree.map_structure(lambda value: _to_tensor(value, dtype), inputs)
            if self._adjusts_input_rank:
                inputs = self._adjust_input_rank(inputs)
            self.build_for(tree.map_structure(
                lambda value: value.shape if isinstance(value, Tensor) else None, inputs))
        position = self._call_training_position
        if position is not None and len(args) > position and "training" not in kwargs:
            # layer(x, True): the argument in training's place is training, as Keras reads it
            kwargs["training"] = args[position]
            args = args[:position] + args[position + 1:]
        context = _call_context
        training = kwargs.pop("training", None)
        if training is None:
            training = context.training
        if self._call_takes_training:
            kwargs["training"] = self._call_training_default if training is None else training
        if self._call_names_masks:
            self._fill_masks(inputs, args, kwargs)
        # the mask the output's mask is computed from: the one given, else the input's (taken
        # now: a call may take it off, as Keras notes for MultiHeadAttention)
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = masks_of(inputs)
        if not self._call_takes_mask:
            kwargs.pop("mask", None)
        if context.depth == 0 and _adds_losses:
            self._clear_losses()
        previous = context.training
        context.depth += 1
        if training is not None:
            context.training = bool(training)
        try:
            outputs = self.call(inputs, *args[1:], **kwargs)
        finally:
            context.depth -= 1
            context.training = previous
        self._regularize_activity(outputs)
        if previous_mask is not None or type(self).compute_mask is not Layer.compute_mask:
            self._set_mask_metadata(inputs, outputs, previous_mask)
        return outputs

    def _adjust_input_rank(self, inputs):
        """The inputs fitted to the rank the model declared (see :func:`adjust_rank`); a model
        with declared inputs sets ``_adjusts_input_rank`` and overrides this."""
        return inputs

    # --- masks ------------------------------------------------------------------------------

    @property
    def supports_masking(self):
        """Whether the layer passes a mask on to its outputs (through :meth:`compute_mask`).

        As in Keras, it is True for a layer whose class defines its own ``compute_mask``, and
        False otherwise, unless the layer sets it (``self.supports_masking = True``). A layer
        that does not support masking and receives a masked input warns once that the mask
        stops there."""
        value = self.__dict__.get("_supports_masking")
        if value is None:
            return type(self).compute_mask is not Layer.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value):
        self._supports_masking = bool(value)

    def compute_mask(self, inputs, mask=None):
        """The mask of the output for ``inputs`` carrying ``mask`` (None: no mask). The base
        layer passes ``mask`` through; it is used only when :attr:`supports_masking` is True."""
        return mask

    def _fill_masks(self, inputs, args, kwargs):
        """Keras's rule for the mask arguments a ``call`` names: with one tensor argument, its
        mask goes to ``mask`` (unless one is given); with several, each argument's mask goes to
        ``<argument>_mask`` where ``call`` has that parameter."""
        names = self._call_parameters
        positional = dict(zip(names, (inputs,) + tuple(args[1:])))
        tensors = {name: value for name, value in positional.items() if is_tensor_argument(value)}
        tensors.update((name, value) for name, value in kwargs.items()
                       if name not in ("training", "mask") and not name.endswith("_mask")
                       and is_tensor_argument(value))
        if len(tensors) == 1:
            wanted = {"mask": next(iter(tensors.values()))}
        else:
            wanted = {f"{name}_mask": value for name, value in tensors.items()}
        for name, value in wanted.items():
            if name in names and name not in positional and kwargs.get(name) is None:
                masks = masks_of(value)
                if any_mask(masks):
                    kwargs[name] = masks

    def _set_mask_metadata(self, inputs, outputs, previous_mask):
        """Attaches ``compute_mask``'s masks to the outputs that have none (Keras's rule), or,
        for a layer that does not support masking, warns (once) that the input's mask is lost."""
        if not self.supports_masking:
            if any_mask(previous_mask) and not self.__dict__.get("_warned_mask"):
                object.__setattr__(self, "_warned_mask", True)
                warnings.warn(
                    f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a "
                    f"mask attached to it. However, this layer does not support masking and will "
                    f"therefore destroy the mask information. Downstream layers will not see the "
                    f"mask.", stacklevel=3)
            return
        flat_outputs = tree.flatten(outputs)
        if all(get_keras_mask(x) is not None for x in flat_outputs):
            return  # the call attached them itself
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        for tensor, mask in zip(flat_outputs, tree.flatten(masks)):
            if mask is not None and isinstance(tensor, (Tensor, KerasTensor)) and tensor._keras_mask is None:
                tensor._keras_mask = mask

    # --- the symbolic graph -----------------------------------------------------------------

    def _symbolic_call(self, args, kwargs):
        self._check_call_arguments(args, kwargs)
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        # the outputs' symbolic masks (bool KerasTensors), as Keras attaches them while a graph
        # is built; the masks themselves are computed again from the data when the model runs
        previous_mask = kwargs.get("mask")
        if previous_mask is None:
            previous_mask = masks_of(args[0])
        if previous_mask is not None or type(self).compute_mask is not Layer.compute_mask:
            if type(self).__module__.startswith("chainrule."):
                self._set_mask_metadata(args[0], outputs, previous_mask)
            else:
                try:
                    self._set_mask_metadata(args[0], outputs, previous_mask)
                except Exception:  # noqa: BLE001  a user's compute_mask written for data only
                    pass
        return outputs

    def _check_call_arguments(self, args, kwargs):
        """Raises TypeError, naming the layer, when ``call`` cannot take these arguments (found
        now, while the graph is built, not at the first batch)."""
        extra = {k: v for k, v in kwargs.items() if k not in ("training", "mask")}
        try:
            inspect.signature(self.call).bind(*args, **extra)
        except TypeError as error:
            raise TypeError(f"{self.describe()} cannot be called with these arguments: {error}") from None
        except ValueError:
            pass  # a call without an inspectable signature

    def compute_output_spec(self, *args, **kwargs):
        """The symbolic output (KerasTensors: shape and dtype) for symbolic inputs.

        A layer that defines :meth:`compute_output_shape` is trusted with it; any other (a
        user's layer, a Lambda) runs :meth:`call` twice on placeholder zeros, giving every
        unknown axis (None) a different size each time, and reports None wherever the output's
        size followed it."""
        inputs = args[0]
        shapes = tree.map_structure(lambda x: x.shape if isinstance(x, KerasTensor) else None, inputs)
        if (type(self).compute_output_shape is not Layer.compute_output_shape
                and not any_symbolic(args[1:], kwargs)):
            self.build_for(shapes)
            output_shapes = self.compute_output_shape(shapes)
            dtype = self._output_dtype(tree.flatten(inputs))
            return map_shapes(lambda shape: KerasTensor(shape, dtype), output_shapes)
        return self._trace(args, kwargs)

    def _output_dtype(self, inputs):
        """Floating inputs are cast to the layer's dtype, and weights compute in it; a layer
        without weights passes integers through (Flatten, Reshape before an Embedding)."""
        symbolic = [x for x in inputs if isinstance(x, KerasTensor)]
        if any(_backend.numpy.dtype(x.dtype).kind == "f" for x in symbolic) or self._all_weights():
            return _backend.numpy.dtype(self.dtype).name
        return symbolic[0].dtype if symbolic else _backend.numpy.dtype(self.dtype).name

    def _trace(self, args, kwargs):
        """The symbolic output, from running the layer twice on placeholder zeros in which
        every unknown axis has size 2, then 3: an output axis whose size differs is None."""
        def placeholders(size):
            def fill(x):
                if not isinstance(x, KerasTensor):
                    return x
                shape = tuple(size if d is None else d for d in x.shape)
                check_sample_size(math.prod(shape[1:]), f"{self.describe()}: an input of shape {x.shape}")
                placeholder = Tensor(_backend.numpy.zeros(shape, dtype=x.dtype))
                mask = x._keras_mask
                if isinstance(mask, KerasTensor):  # a masked input: the call sees a mask of ones
                    placeholder._keras_mask = Tensor(_backend.numpy.ones(
                        tuple(size if d is None else d for d in mask.shape), dtype=bool))
                return placeholder
            return tree.map_structure(fill, (args, kwargs))

        context = _call_context
        tracing = context.tracing
        context.tracing = True
        outputs = []
        try:
            # NOTE: zeros can make nan or inf (x / sum(x)); only the shapes matter here.
            with autograd.no_grad(), _backend.numpy.errstate(all="ignore"), recording.paused():
                for size in (2, 3):
                    call_args, call_kwargs = placeholders(size)
                    outputs.append(self(*call_args, **call_kwargs))
        except Exception as error:
            shapes = tree.map_structure(lambda x: x.shape if isinstance(x, KerasTensor) else x, args[0])
            raise ValueError(f"{self.describe()} could not infer its output shape for inputs of shape "
                             f"{shapes}: calling it on zeros raised {type(error).__name__}: {error}. "
                             f"Define compute_output_shape (a Lambda: pass output_shape) to give it") from error
        finally:
            context.tracing = tracing
        first, second = (tree.flatten(output) for output in outputs)
        wrong = next((x for x in first if not isinstance(x, Tensor)), None)
        if wrong is not None or not first:
            raise ValueError(f"{self.describe()}: its call returned {type(wrong).__name__}, not a "
                             f"tensor (or a list or dict of tensors)")
        if len(first) != len(second) or any(
                isinstance(a, Tensor) and (not isinstance(b, Tensor) or a.ndim != b.ndim)
                for a, b in zip(first, second)):
            raise ValueError(f"{self.describe()}: the number or rank of its outputs depends on the "
                             f"size of its input's unknown axes, which a symbolic shape cannot say")

        specs = [KerasTensor(tuple(d if d == e else None for d, e in zip(a.shape, b.shape)), a.dtype.name)
                 for a, b in zip(first, second)]
        return tree.pack_sequence_as(outputs[0], specs)

    def traced_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (one shape or a list of them) found by running
        the layer on placeholders (see :meth:`compute_output_spec`)."""
        dtype = _backend.numpy.dtype(self.dtype).name
        spec = self._trace((map_shapes(lambda shape: KerasTensor(shape, dtype), input_shape),), {})
        return tree.map_structure(lambda x: x.shape, spec)

    @property
    def input(self):
        """The symbolic input of the layer's first call on symbolic tensors."""
        return self._first_node("input").call_args[0]

    @property
    def output(self):
        """The symbolic output of the layer's first call on symbolic tensors (what
        ``Model(inputs, layer.output)`` takes to make a feature extractor)."""
        return self._first_node("output").outputs

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(f"{self.describe()} has never been called on a symbolic input, so it "
                                 f"has no {what}; call it on Input(...) or put it in a model built "
                                 f"with an input shape")
        return self._inbound_nodes[0]

    # --- losses -----------------------------------------------------------------------------

    def add_loss(self, loss):
        """Adds ``loss`` (a scalar tensor computed in ``call``) to the model's training loss.

        The losses of a call are kept until the next call of the outermost layer; a model's
        :attr:`losses` collects those of every layer in it."""
        global _adds_losses
        if _call_context.tracing:
            return
        _adds_losses = True
        self._losses.append(loss)

    @property
    def losses(self):
        """The losses added with :meth:`add_loss` during the last call (this layer's and its
        sublayers', activity regularization's among them), then the penalties of the trainable
        weights that have a regularizer, computed now from their current values (as Keras's
        ``_get_regularization_losses``), so they differentiate into the weights."""
        found = list(self._losses)
        if _adds_losses:
            for layer in self._walk_layers():
                found.extend(layer._losses)
        if variables.any_regularized:
            found.extend(self._get_regularization_losses())
        return found

    def _get_regularization_losses(self):
        """``variable.regularizer(variable)`` for each trainable weight that has one."""
        return [w.regularizer(w) for w in self.trainable_weights if w.regularizer is not None]

    def _regularize_activity(self, outputs):
        """Adds the activity regularizer's penalty on each output tensor to the losses,
        divided by the output's batch size (its first axis; a scalar output is not divided), as
        Keras does so that the penalty's weight against the weights' does not change with the
        batch size. Nothing is added while the layer is traced for shapes."""
        regularizer = getattr(self, "activity_regularizer", None)
        if regularizer is None or _call_context.tracing:
            return
        for output in tree.flatten(outputs):
            if not isinstance(output, Tensor):
                continue
            loss = regularizer(output)
            if output.ndim > 0:
                batch_size = output.shape[0]
                # divide_no_nan: an empty batch adds 0
                loss = loss / batch_size if batch_size else loss * 0.0
            self.add_loss(loss)

    def _clear_losses(self):
        self._losses = []
        for layer in self._walk_layers():
            layer._losses = []

    # --- weights ----------------------------------------------------------------------------

    def check_initializers(self, **named):
        """Resolves each initializer argument now, so a bad name fails in ``__init__``."""
        for arg, value in named.items():
            initializers.get(value, where=f"{self.name}: {arg}")

    def add_weight(self, name=None, shape=None, initializer="glorot_uniform", trainable=True, dtype=None,
                   regularizer=None, constraint=None, **options):
        """Creates, records and returns a Variable of ``shape`` filled by ``initializer``.

        Keras's keyword arguments are accepted (``add_weight(shape=..., initializer=...,
        trainable=..., name=..., regularizer=..., constraint=...)``). ``regularizer`` (a name, a
        description dict, a Regularizer or a function of the weight) is kept as
        ``variable.regularizer``: :attr:`losses` includes its penalty. ``constraint`` (the same
        forms, see :mod:`chainrule.constraints`) is kept as ``variable.constraint``: the
        optimizer applies it after each update. Other options chainrule does not have are
        refused rather than ignored."""
        unsupported = {key: value for key, value in options.items()
                       if value is not None and key not in ("autocast", "aggregation", "synchronization",
                                                            "overwrite_with_gradient")}
        if unsupported:
            raise ValueError(f"{self.name}: add_weight does not support {sorted(unsupported)} yet")
        where = f"{self.name}/{name or f'variable_{len(self._own_weights)}'}"
        regularizer = regularizers.get(regularizer, where=f"{where}: regularizer")
        constraint = constraints.get(constraint, where=f"{where}: constraint")
        if shape is None:
            shape = ()
        name = name or f"variable_{len(self._own_weights)}"
        shape = tuple(shape_tuple(shape, f"{self.name}/{name}: shape"))
        if None in shape:
            raise ValueError(f"{self.name}/{name}: a weight needs a fully known shape, received {shape}")
        init = initializers.get(initializer, where=f"{self.name}/{name}")
        dtype = _backend.numpy.dtype(dtype).name if dtype is not None else self.dtype
        if _weight_budget.remaining is not None:
            size = math.prod(shape)
            if size > _weight_budget.remaining:
                raise ValueError(f"{self.name}/{name}: a weight of shape {tuple(shape)} ({size} values) "
                                 f"exceeds the {_weight_budget.remaining} values left to create")
            _weight_budget.remaining -= size
        value = init(tuple(shape), dtype)
        variable = Variable(value, name=name, path=f"{self.name}/{name}", trainable=trainable)
        variable.requires_grad = trainable and self._trainable
        variable.regularizer = regularizer
        variable.constraint = constraint
        self._own_weights.append(variable)
        return variable

    def track(self, layer):
        """Records ``layer`` as part of this one (its weights become this layer's weights)."""
        self._sublayers.append(layer)
        self._forget_tracked()
        return layer

    def _forget_tracked(self):
        cache = self.__dict__.get("_tracking_cache")
        if cache:
            cache.clear()

    def __setattr__(self, name, value):
        # what the layer tracks may change: forget what _tracked found (see there)
        cache = self.__dict__.get("_tracking_cache")
        if cache and name not in _UNTRACKED and (_trackable(value) or _trackable(self.__dict__.get(name))):
            cache.clear()
        own = self.__dict__.get("_own_weights")
        if isinstance(value, Variable) and own is not None and not any(w is value for w in own):
            own.append(value)  # a variable assigned as an attribute is the layer's own, in order
        object.__setattr__(self, name, value)

    def _tracked(self, kind):
        """The objects of ``kind`` this layer holds directly: in ``track``'s list, then in its
        attributes (alone or in lists, tuples and dicts), each once, in order.

        The answer is kept until an attribute that holds (or held) a layer, variable or
        container is set, or ``track`` adds a layer; so a list filled after the layer was first
        used (an unusual thing to do) is seen only once an attribute is set again."""
        cache = self.__dict__.get("_tracking_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_tracking_cache", cache)
        found = cache.get(kind)
        if found is None:
            found = cache[kind] = self._find_tracked(kind)
        return found

    def _find_tracked(self, kind):
        found, seen = [], set()

        def visit(value, depth):
            if isinstance(value, kind):
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif depth < 4 and isinstance(value, dict):
                for item in value.values():
                    visit(item, depth + 1)
            elif depth < 4 and isinstance(value, (list, tuple)) and any(
                    isinstance(item, (kind, Layer, list, tuple, dict)) for item in value[:8]):
                for item in value:
                    visit(item, depth + 1)

        if kind is Layer:
            for layer in self._sublayers:
                visit(layer, 0)
        for name, value in self.__dict__.items():
            if name not in _UNTRACKED and value is not self:
                visit(value, 0)
        return found

    def _walk_layers(self):
        """Every layer inside this one, depth first, each once (this one excluded)."""
        found, seen = [], {id(self)}
        stack = list(reversed(self._tracked(Layer)))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            found.append(layer)
            stack.extend(reversed(layer._tracked(Layer)))
        return found

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        """Freezing a layer (False) keeps its weights out of gradients and updates."""
        self._trainable = bool(flag)
        for layer in self._tracked(Layer):
            layer.trainable = flag
        for w in self._own_variables():
            w.requires_grad = self._trainable and w.trainable

    def _own_variables(self):
        """The layer's own variables, Keras's order: the trainable ones, then the others, each
        in the order they were made or assigned (a layer's freezing does not move them)."""
        own = list(self._own_weights)
        known = {id(w) for w in own}
        own.extend(w for w in self._tracked(Variable) if id(w) not in known)
        return [w for w in own if w.trainable] + [w for w in own if not w.trainable]

    def _all_weights(self):
        weights, seen = [], set()
        for layer in [self] + self._walk_layers():
            for w in layer._own_variables():
                if id(w) not in seen:
                    seen.add(id(w))
                    weights.append(w)
        return weights

    @property
    def weights(self):
        """Every weight, layer by layer (this layer's own, then each sublayer's), as Keras
        orders them: ``get_weights``, ``set_weights`` and files use this order."""
        return self._all_weights()

    @property
    def trainable_weights(self):
        return [w for w in self._all_weights() if w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self._all_weights() if not w.requires_grad]

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        """Copies of the weights' values, as NumPy arrays, in the order of :attr:`weights`."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from a list of arrays in the order of :attr:`weights`.

        Every count and shape is checked before any weight changes.

        Raises:
            ValueError: naming the layer, the weight and both shapes on a mismatch.
        """
        set_variables(self.weights, weights, f'Layer "{self.name}"')

    def count_params(self):
        if not self.built:
            raise ValueError(
                f'Layer "{self.name}" is not built yet, so its weights do not exist; call it on '
                f"data or build it with an input shape first"
            )
        return sum(w.size for w in self._all_weights())

    # --- configuration ----------------------------------------------------------------------

    def get_config(self):
        """The constructor arguments, as plain values.

        A user's layer that does not write its own ``get_config`` gets, as in Keras, the
        arguments its ``__init__`` was called with, if they are all plain values (numbers,
        strings, lists, dicts)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}
        if getattr(self, "activity_regularizer", None) is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = list(self._declared_input_shape)
        if type(self).get_config is Layer.get_config and not type(self).__module__.startswith("chainrule."):
            config = {**self._auto_config(), **config}
        return config

    def _auto_config(self):
        args, kwargs = getattr(self, "_init_arguments", ((), {}))
        try:
            bound = inspect.signature(type(self).__init__).bind(self, *args, **kwargs)
        except TypeError:
            bound = None
        plain = bound is not None
        config = {}
        if bound is not None:
            for name, value in list(bound.arguments.items())[1:]:
                kind = bound.signature.parameters[name].kind
                if kind is inspect.Parameter.VAR_KEYWORD:
                    config.update(value)
                elif kind is inspect.Parameter.VAR_POSITIONAL:
                    plain = plain and not value
                else:
                    config[name] = value
            plain = plain and _is_plain(config)
        if not plain:
            raise NotImplementedError(
                f"{self.describe()}: its class {type(self).__name__} does not define get_config(), "
                f"and its constructor arguments are not all plain values (numbers, strings, lists, "
                f"dicts), so they cannot be written down; define get_config() returning them")
        return config

    @classmethod
    def from_config(cls, config):
        if cls.get_config is Layer.get_config and not cls.__module__.startswith("chainrule."):
            # Keras's rule for automatic configurations: the base keys go only to an __init__
            # that takes them (by name or through **kwargs)
            parameters = inspect.signature(cls.__init__).parameters
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
                config = {k: v for k, v in config.items() if k in parameters}
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def keep_functions(config, layer):
    """A copy of ``config`` (``layer.get_config()``) in which each user's activation function,
    which ``get_config`` cannot name (it writes None), is the function again, in ``layer`` and
    in the layers its configuration describes (an RNN's cell, a stack's cells, a wrapper's
    layer), so ``from_config`` rebuilds the same layer in memory instead of a linear one."""
    config = dict(config)
    for key in ("activation", "recurrent_activation"):
        function = getattr(layer, key, None)
        if key in config and config[key] is None and callable(function):
            config[key] = function
    inner = {"cell": getattr(layer, "cell", None),
             "layer": getattr(layer, "forward_layer", None) or getattr(layer, "layer", None),
             "backward_layer": getattr(layer, "backward_layer", None)}
    for key, sublayer in inner.items():
        entry = config.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("config"), dict) and isinstance(sublayer, Layer):
            config[key] = {**entry, "config": keep_functions(entry["config"], sublayer)}
    cells, sublayers = config.get("cells"), getattr(layer, "cells", None)
    if isinstance(cells, list) and isinstance(sublayers, list) and len(cells) == len(sublayers):
        config["cells"] = [{**entry, "config": keep_functions(entry["config"], cell)}
                           if isinstance(entry, dict) and isinstance(entry.get("config"), dict) else entry
                           for entry, cell in zip(cells, sublayers)]
    return config


_TRACKABLE = (Layer, Variable, list, tuple, dict)


def _trackable(value):
    """Whether ``value`` is something ``_tracked`` looks at: a layer, a variable, a container,
    or a metric (anything with ``update_state``)."""
    return isinstance(value, _TRACKABLE) or hasattr(type(value), "update_state")


def _is_plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _marks_built(build):
    @functools.wraps(build)
    def wrapper(self, input_shape=None, *more_shapes, **named_shapes):
        if self.built:
            return
        self._built_from_shape = input_shape  # as given, batch size included (summary() shows it)
        if input_shape is not None:
            # the batch axis is left open (None): the weights fit any batch size
            input_shape = map_shapes(lambda shape: (None,) + shape[1:] if shape else shape,
                                     input_shape if not is_shape(input_shape)
                                     else shape_tuple(input_shape, f"{self.name}: build"))
        # a build of several shapes (MultiHeadAttention's query, value, key) gets the others too
        build(self, input_shape, *more_shapes, **named_shapes)
        if input_shape is not None:
            self.input_shape = input_shape
        self.built = True

    return wrapper


Layer.build = _marks_built(Layer.build)


def set_variables(variables, values, where):
    """Assigns ``values`` to ``variables`` after checking the count and every shape."""
    values = list(values)
    if len(values) != len(variables):
        raise ValueError(
            f"{where}: expected a list of {len(variables)} weight arrays "
            f"({', '.join(v.path for v in variables) or 'none'}), received {len(values)}"
        )
    arrays = []
    for variable, value in zip(variables, values):
        array = _backend.as_array(value, where=f"{where}, weight {variable.path}")
        if array.shape != variable.shape:
            raise ValueError(
                f"{where}: weight {variable.path} has shape {variable.shape}, "
                f"received an array of shape {array.shape}"
            )
        arrays.append(array)
    for variable, array in zip(variables, arrays):
        variable.data[...] = array
    autograd.mark_changed(*(variable.data for variable in variables))  # for backward's check
