"""The base class of metrics, ``keras.metrics.Metric``: state variables created with
:meth:`Metric.add_variable`, ``update_state``, ``result`` and ``reset_state``."""

import functools

from chainrule import _backend, initializers, losses, recording
from chainrule._backend import numpy as np
from chainrule.utils.deprecation import warn_deprecated
from chainrule.variables import Variable


class Metric:
    """Base class of metrics (Keras 3's ``keras.metrics.Metric``).

    Subclasses create their state in ``__init__`` with :meth:`add_variable`, and define
    ``update_state(...)`` and ``result()``; the default :meth:`reset_state` sets every variable
    back to zeros. For example::

        class BinaryTruePositives(keras.metrics.Metric):
            def __init__(self, name="binary_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                        name="true_positives")

            def update_state(self, y_true, y_pred, sample_weight=None):
                values = ops.logical_and(ops.cast(y_true, "bool"), ops.cast(y_pred, "bool"))
                self.true_positives.assign_add(ops.sum(ops.cast(values, self.dtype)))

            def result(self):
                return self.true_positives

    Args:
        dtype: the dtype of the metric's values, "float32" or "float64" (the default float dtype
            when None).
        name: the metric's name (the class name in snake case by default).

    Raises:
        ValueError: for another dtype.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        update = cls.__dict__.get("update_state")
        if update is not None and not getattr(update, "_outside_steps", False):
            cls.update_state = _outside_recorded_steps(update)

    def __init__(self, dtype=None, name=None):
        self.name = name or losses._snake(type(self).__name__)
        dtype = _backend.default_dtype() if dtype is None else dtype
        self._dtype = _backend.float_dtype(dtype, f"{type(self).__name__}: dtype").name
        self._variables = []

    @property
    def dtype(self):
        """The dtype of the metric's values, by name ("float32")."""
        return self._dtype

    def add_variable(self, shape, initializer, dtype=None, aggregation="sum", name=None):
        """Creates a state variable, tracked in :attr:`variables` and reset by
        :meth:`reset_state`.

        Args:
            shape: its shape (``()`` for a scalar).
            initializer: an initializer name (``"zeros"``), an Initializer, or a callable
                ``(shape, dtype)``; None means zeros.
            dtype: its dtype (the default float dtype when None); integer dtypes count.
            aggregation: how the processes' copies combine in data-parallel training: "sum"
                (a running sum), "mean", or "only_first_replica" (rank 0's).
            name: its name; its path is ``"metric name/name"``.

        Returns:
            The :class:`~chainrule.variables.Variable`, not trainable.
        """
        self._check_super_called()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        dtype = _backend.default_dtype() if dtype is None else np.dtype(dtype)
        name = name or f"variable_{len(self._variables)}"
        where = f"{self.name}/{name}"
        # NOTE: the dtype goes by name: a NumPy dtype is false in `dtype or default` (no fields)
        make = initializers.get("zeros" if initializer is None else initializer, where=where)
        value = np.asarray(make(shape, dtype.name), dtype=dtype)
        variable = Variable(value, name=name, path=where, trainable=False,
                            aggregation=aggregation)
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None):
        """:meth:`add_variable` with Keras's older argument order.

        tf.keras 2 took the name first (``add_weight("total", initializer="zeros")``); that
        spelling is accepted with a DeprecationWarning.
        """
        if isinstance(shape, str):
            warn_deprecated(
                f"{self.name}: add_weight({shape!r}, ...) passes the name first, as tf.keras 2 "
                f"did; Keras 3 takes the shape first: write add_weight(name={shape!r}, ...)")
            shape, name = (), shape if name is None else name
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """This metric's variables, then those of the metrics held in its attributes."""
        found = list(self._variables)
        for metric in self._submetrics():
            found.extend(metric.variables)
        return found

    def _submetrics(self):
        for value in vars(self).values():
            if isinstance(value, Metric):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (item for item in value if isinstance(item, Metric))

    # names of the attributes that hold running sums outside variables (a subclass that keeps
    # its state in plain attributes names them, so distributed training can add them up)
    _state_attributes = ()

    def state_references(self):
        """``(holder, attribute)`` of every running sum behind :meth:`result`: each variable's
        ``data``, the attributes :attr:`_state_attributes` names, then those of the metrics
        held in attributes. Data-parallel training combines these across processes (adds them
        up, or as a variable's ``aggregation`` says) to compute the whole batch's result."""
        references = [(variable, "data") for variable in self._variables]
        references += [(self, name) for name in self._state_attributes]
        for metric in self._submetrics():
            references.extend(metric.state_references())
        return references

    def reset_state(self):
        """Sets every variable back to zeros (as Keras does, whatever its initializer) and resets
        the metrics held in attributes."""
        for variable in self._variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        for metric in self._submetrics():
            metric.reset_state()

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__}: define update_state")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__}: define result")

    def __call__(self, *args, **kwargs):
        """Updates the state with the arguments, then returns :meth:`result`."""
        self._check_super_called()
        self.update_state(*args, **kwargs)
        return self.result()

    def _check_super_called(self):
        if "_variables" not in vars(self):
            raise RuntimeError(f"{type(self).__name__}: its __init__ must call "
                               f"super().__init__() before creating variables or being used")

    def get_config(self):
        """The constructor's arguments: ``{"name": ..., "dtype": ...}`` here."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _outside_recorded_steps(update):
    """``update_state`` that makes a recorded step (chainrule.jit_compile) run eagerly when it
    is called inside one: a metric's state moves in Python, which a replay would not repeat (a
    ``compute_loss`` that updates a tracker). Inside a host call (the loss trackers) it is part
    of the call."""

    @functools.wraps(update)
    def update_state(self, *args, **kwargs):
        if recording.state.recorder is not None:
            recording.refuse(f"{type(self).__name__}.update_state runs inside the step; a replay "
                             f"would not update the metric")
        return update(self, *args, **kwargs)

    update_state._outside_steps = True
    return update_state
