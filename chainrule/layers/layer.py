"""Layer: the base class of every layer, with Keras's life cycle.

``__init__`` validates and stores the configuration; ``build(input_shape)`` creates the weights
with :meth:`Layer.add_weight` the first time the layer sees an input shape; ``call(x, training)``
is the math, written with tensor operations so autodiff gives its gradient;
``compute_output_shape`` gives shapes without data (``summary()`` and shape errors use it).
"""

import collections
import contextlib
import functools
import math
import re
import threading

from chainrule import autograd, _backend, initializers
from chainrule.tensor import Tensor
from chainrule.variables import Variable

_name_counts = collections.Counter()
_name_lock = threading.Lock()


class _Budget(threading.local):
    """While set (see :func:`weight_budget`), how many more weight values layers may create.

    One per thread: a model loading in one thread does not limit (or spend the budget of) models
    built in another."""

    def __init__(self):
        self.remaining = None


_weight_budget = _Budget()


@contextlib.contextmanager
def weight_budget(values):
    """Within this block, layers may create at most ``values`` weight values in all; one more
    raises ValueError before anything is allocated. Loading a model file sets it to the number
    of values the file holds, so a description of a huge layer cannot exhaust memory."""
    previous, _weight_budget.remaining = _weight_budget.remaining, values
    try:
        yield
    finally:
        _weight_budget.remaining = previous


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``...: Keras's automatic layer names."""
    with _name_lock:  # two threads making layers never receive the same name
        count = _name_counts[base]
        _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def shape_tuple(shape, where):
    """``shape`` as a tuple of ints and Nones, or a ValueError naming ``where``."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in dims):
        raise ValueError(f"{where}: expected a shape (a tuple of non-negative ints or None), "
                         f"received {shape!r}")
    return dims


class InputSpec:
    """What a layer accepts: a rank (``ndim``), a least rank (``min_ndim``) and fixed axes."""

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})

    def check(self, layer, shape):
        problem = None
        if self.ndim is not None and len(shape) != self.ndim:
            problem = f"expected {self.ndim} axes, received {len(shape)}"
        elif self.min_ndim is not None and len(shape) < self.min_ndim:
            problem = f"expected at least {self.min_ndim} axes, received {len(shape)}"
        else:
            for axis, size in self.axes.items():
                received = shape[axis]
                if received is not None and received != size:
                    problem = f"expected axis {axis} to have size {size}, received {received}"
                    break
        if problem:
            raise ValueError(
                f'Layer "{layer.name}" ({type(layer).__name__}) received an input of shape '
                f"{format_shape(shape)}: {problem} (expected shape {self.describe()})"
            )

    def describe(self):
        ndim = self.ndim or self.min_ndim or 1
        dims = ["None"] * ndim
        for axis, size in self.axes.items():
            dims[axis] = str(size)
        if not self.ndim:
            dims.insert(1, "...")
        return "(" + ", ".join(dims) + ")"


def shape_difference(expected, received):
    """How ``received`` differs from ``expected`` (the batch axis aside; None fits any size), for
    error messages: ``"rank 3 instead of 2"``, ``"axis -1 has 10, expected 784"``; None if it
    does not."""
    if len(received) != len(expected):
        return f"rank {len(received)} instead of {len(expected)}"
    rank = len(expected)
    differences = [f"axis {i - rank} has {r}, expected {e}"
                   for i, (e, r) in enumerate(zip(expected, received))
                   if i > 0 and e is not None and r is not None and e != r]
    return "; ".join(differences) or None


def format_shape(shape):
    return str(tuple(shape))


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
    """

    input_spec = None  # an InputSpec, set by subclasses (usually in build)

    def __init_subclass__(cls, **kwargs):
        # As in Keras, a layer is built once its build() returns, whoever called it; a second
        # call does nothing (it would create a second set of weights).
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, **unknown):
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown keyword arguments {sorted(unknown)}"
            )
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"{type(self).__name__}: name must be a non-empty string without "
                             f"'/', received {name!r}")
        self.dtype = _backend.float_dtype(dtype, type(self).__name__) if dtype else _backend.default_dtype()
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self._trainable = bool(trainable)
        self._own_weights = []
        self._sublayers = []
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
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        """The output's shape for an input of ``input_shape``; the default is the same shape."""
        return tuple(input_shape)

    def build_for(self, input_shape):
        """Builds the layer for ``input_shape`` if it is not built yet, then checks the shape
        against the declared one (``input_shape=``) and the layer's InputSpec."""
        if self.built and input_shape == self._accepted_shape:
            return  # the shape of the previous batch, already checked
        input_shape = shape_tuple(input_shape, f"{self.name}: input shape")
        self._check_declared(input_shape)
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

    def __call__(self, x, training=False):
        """Builds and checks the layer for ``x``'s shape, casts floating ``x`` to the layer's
        dtype and runs :meth:`call`.

        Integers pass as they are, as in Keras: they may be ids (an Embedding reads them, and a
        Flatten or Reshape before it must not round 2**24 + 1 to float32). The operations that
        compute with them convert them straight to the weights' dtype (``linear``, the
        recurrent layers), so they reach a float64 model exactly.
        """
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self.build_for(x.shape)
        if x.dtype.kind == "f" and x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return self.call(x, training=training)

    # --- weights ----------------------------------------------------------------------------

    def check_initializers(self, **named):
        """Resolves each initializer argument now, so a bad name fails in ``__init__``."""
        for arg, value in named.items():
            initializers.get(value, where=f"{self.name}: {arg}")

    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True, dtype=None):
        """Creates, records and returns a Variable of ``shape`` filled by ``initializer``."""
        init = initializers.get(initializer, where=f"{self.name}/{name}")
        dtype = dtype or self.dtype
        if _weight_budget.remaining is not None:
            size = math.prod(shape)
            if size > _weight_budget.remaining:
                raise ValueError(f"{self.name}/{name}: a weight of shape {tuple(shape)} ({size} values) "
                                 f"exceeds the {_weight_budget.remaining} values left to create")
            _weight_budget.remaining -= size
        value = init(tuple(shape), dtype)
        variable = Variable(value, name=name, path=f"{self.name}/{name}", trainable=trainable)
        variable.requires_grad = trainable and self._trainable
        self._own_weights.append(variable)
        return variable

    def track(self, layer):
        """Records ``layer`` as part of this one (its weights become this layer's weights)."""
        self._sublayers.append(layer)
        return layer

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, flag):
        """Freezing a layer (False) keeps its weights out of gradients and updates."""
        self._trainable = bool(flag)
        for layer in self._sublayers:
            layer.trainable = flag
        for w in self._own_weights:
            w.requires_grad = self._trainable and w.trainable

    def _all_weights(self):
        weights = list(self._own_weights)
        for layer in self._sublayers:
            weights.extend(layer._all_weights())
        return weights

    @property
    def weights(self):
        """Trainable weights first, then the others (Keras's order)."""
        return self.trainable_weights + self.non_trainable_weights

    @property
    def trainable_weights(self):
        return [w for w in self._all_weights() if w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self._all_weights() if not w.requires_grad]

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
        """The constructor arguments, as plain values."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": str(self.dtype)}
        if self._declared_input_shape is not None:
            config["batch_input_shape"] = list(self._declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _marks_built(build):
    @functools.wraps(build)
    def wrapper(self, input_shape=None):
        if self.built:
            return
        if input_shape is not None:
            input_shape = shape_tuple(input_shape, f"{self.name}: build")
            input_shape = (None,) + input_shape[1:] if input_shape else input_shape
        build(self, input_shape)
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
