"""Optimizer: the base class that turns gradients into in-place weight updates.

``apply(grads, variables)`` clips the gradients (``clipnorm``, ``global_clipnorm``,
``clipvalue``), applies decoupled weight decay (``w -= w * weight_decay * lr``), calls the
subclass's ``update_step(grad, variable, lr)`` for each variable, updates the moving average of
the weights (``use_ema``) and overwrites the weights with it every ``ema_overwrite_frequency``
steps, applies each variable's ``constraint``, and counts the step, in Keras's order. Updates
write into the weights' arrays; the slots (moments) are arrays owned here.

An ``update_step`` marked :func:`~chainrule.optimizers.flat.elementwise` (every built-in one but
Ftrl's) runs once per dtype for the small variables instead of once per each, over their weights
and slots laid end to end (see :mod:`chainrule.optimizers.flat`), whenever a step has a gradient
of the weight's dtype for every variable; the results are the same bits.
"""

import inspect
import math
import operator

from chainrule import autograd
from chainrule._backend import numpy as np
from chainrule.distribution.distribution_lib import active_data_parallel
from chainrule.optimizers import schedules
from chainrule.optimizers.flat import FlatGroup, FlatLayout
from chainrule.optimizers.schedules import LearningRateSchedule
from chainrule.tensor import Tensor
from chainrule.utils.deprecation import warn_deprecated


class Optimizer:
    """Base class of optimizers.

    Args:
        learning_rate: a float, a LearningRateSchedule, or a callable of no arguments.
        weight_decay: if set, each step first shrinks every weight by ``weight_decay * lr``
            times itself (decoupled weight decay, Loshchilov & Hutter 2019).
        clipnorm: if set, each gradient is rescaled so its L2 norm is at most this.
        clipvalue: if set, each gradient is clipped to [-clipvalue, clipvalue].
        global_clipnorm: if set, all gradients are rescaled together so their joint L2 norm is at
            most this.
        use_ema: if True, the optimizer keeps an exponential moving average of every weight it
            trains (Polyak averaging): after each step ``average = ema_momentum * average +
            (1 - ema_momentum) * w`` (the first step copies w). ``fit`` ends by writing the
            averages into the weights (:meth:`finalize_variable_values`).
        ema_momentum: 0.99; in [0, 1] (checked only with ``use_ema``, as Keras does).
        ema_overwrite_frequency: None, or an integer >= 1: with ``use_ema``, every this many steps
            the weights are overwritten with their averages during training too.
        loss_scale_factor, gradient_accumulation_steps: Keras 3's mixed-precision loss scaling
            and gradient accumulation; only None (their default) is accepted, anything else is
            refused with a ValueError rather than ignored.
        name: the optimizer's name.

    Two tf.keras 2 arguments that Keras 3 removed are accepted with a DeprecationWarning:
    ``lr`` for ``learning_rate``, and ``decay``, tf.keras 2's time-based decay: each step uses
    ``learning_rate / (1 + decay * iterations)`` (``learning_rate`` itself, what callbacks read
    and set, stays undecayed, as in tf.keras 2). Keras 3 ignores ``decay`` with a warning;
    chainrule applies it, so old code trains as it did.

    Raises:
        ValueError: for a hyper-parameter out of range, or both ``lr`` and ``learning_rate``.
        TypeError: for an unknown keyword argument.
    """

    # whether apply may run an elementwise update_step over flat arrays (tests turn it off to
    # compare the two paths)
    _flat = True

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **unknown):
        where = type(self).__name__
        for arg, value in (("loss_scale_factor", loss_scale_factor),
                           ("gradient_accumulation_steps", gradient_accumulation_steps)):
            if value is not None:
                raise ValueError(f"{where}: {arg} is not supported by chainrule; expected None, "
                                 f"received {value!r}")
        learning_rate = self._tf_keras_2_lr(learning_rate, unknown)
        decay = unknown.pop("decay", None)
        if unknown:
            raise TypeError(f"{where}: unknown keyword arguments {sorted(unknown)}")
        if decay is not None:
            if not _is_finite(decay) or decay < 0:
                raise ValueError(f"{where}: decay must be a finite non-negative number, received "
                                 f"{decay!r}")
            warn_deprecated(
                f"{where}: decay={decay!r} is tf.keras 2's time-based decay, removed in Keras 3 "
                f"(which ignores it); chainrule applies it as tf.keras 2 did, "
                f"lr / (1 + decay * iterations). Use learning_rate=keras.optimizers.schedules."
                f"InverseTimeDecay(lr, decay_steps=1, decay_rate={decay!r}) instead")
        self.decay = decay
        for arg, value in (("weight_decay", weight_decay), ("clipnorm", clipnorm),
                           ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
            if value is not None and (not _is_finite(value) or value < 0):
                raise ValueError(f"{where}: {arg} must be None or a finite non-negative number, "
                                 f"received {value!r}")
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError(f"{where}: set at most one of clipnorm and global_clipnorm, "
                             f"received both ({clipnorm}, {global_clipnorm})")
        if use_ema:
            # as Keras: the EMA settings are only checked when they are used
            ema_momentum = self.hyper(ema_momentum, "ema_momentum", where, 0.0, 1.0)
            if ema_overwrite_frequency is not None:
                if (not isinstance(ema_overwrite_frequency, (int, np.integer))
                        or isinstance(ema_overwrite_frequency, bool) or ema_overwrite_frequency < 1):
                    raise ValueError(f"{where}: ema_overwrite_frequency must be an integer >= 1 "
                                     f"or None, received {ema_overwrite_frequency!r}")
                ema_overwrite_frequency = int(ema_overwrite_frequency)
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self._check_learning_rate(learning_rate)
        self._learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.name = name or type(self).__name__.lower()
        self.iterations = 0
        self._slots = {}  # slot name -> list of arrays, one per variable
        self._variables = None
        self._layout = None  # the FlatLayout of the variables and slots, once a step made it
        self._work = {}  # id(variable or FlatGroup) -> a work array (see work_array)
        self._floors = []  # names of the hyper-parameters set by floor()

    def _tf_keras_2_lr(self, learning_rate, unknown):
        if "lr" not in unknown:
            return learning_rate
        lr = unknown.pop("lr")
        where = type(self).__name__
        # learning_rate was given too unless it is the constructor's default (which cannot tell
        # a default from the same value written out; that case takes lr). A subclass whose
        # constructor has no learning_rate passed its own: lr replaces it.
        parameter = inspect.signature(type(self).__init__).parameters.get("learning_rate")
        if parameter is not None and learning_rate is not parameter.default and (
                learning_rate != parameter.default):
            raise ValueError(f"{where}: received both lr={lr!r} and learning_rate="
                             f"{learning_rate!r}; lr is the tf.keras 2 name of learning_rate, "
                             f"give only learning_rate")
        warn_deprecated(f"{where}: lr is the tf.keras 2 name of learning_rate, removed in "
                         f"Keras 3; write learning_rate={lr!r}")
        return lr

    @staticmethod
    def hyper(value, name, where, low=0.0, high=math.inf, low_open=False, high_open=False):
        """``value`` as a float after checking it lies in the given interval."""
        ok = _is_finite(value) and (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
        if not ok:
            interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open or high == math.inf else ']'}"
            raise ValueError(f"{where}: {name} must be a finite number in {interval}, received {value!r}")
        return float(value)

    def floor(self, value, name):
        """:meth:`hyper` for a value a step adds to a denominator (``epsilon``): it must be
        positive, and :meth:`build` checks that it does not round to 0 in the weights' dtype, since
        a zero denominator turns the weights into nan at the first zero gradient."""
        value = self.hyper(value, name, type(self).__name__, low_open=True)
        self._floors.append(name)
        return value

    # --- learning rate ----------------------------------------------------------------------

    def _check_learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or (callable(value) and not _is_number(value)):
            return
        if not _is_finite(value) or value < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be a finite non-negative "
                             f"number, a schedule or a callable, received {value!r}")

    @property
    def learning_rate(self):
        """The learning rate of the next step (a schedule is evaluated at ``iterations``)."""
        value = self._learning_rate
        if isinstance(value, LearningRateSchedule):
            value = float(value(self.iterations))
        elif callable(value):
            value = float(value())
        else:
            return float(value)  # checked when it was set
        if not math.isfinite(value) or value < 0:  # checked before any weight changes
            raise ValueError(f"{type(self).__name__}: the learning rate of step {self.iterations} "
                             f"is {value}, from {self._learning_rate!r}; expected a finite "
                             f"non-negative number")
        return value

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, LearningRateSchedule) and not isinstance(
                value, LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: this optimizer's learning rate is a schedule "
                            f"and cannot be set to {value!r}; pass a schedule or rebuild it")
        self._check_learning_rate(value)
        self._learning_rate = value

    @property
    def lr(self):
        """tf.keras 2's name of :attr:`learning_rate` (deprecated; Keras 3 removed it)."""
        warn_deprecated(f"{type(self).__name__}: optimizer.lr is the tf.keras 2 name of "
                         f"optimizer.learning_rate, removed in Keras 3")
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        warn_deprecated(f"{type(self).__name__}: optimizer.lr is the tf.keras 2 name of "
                         f"optimizer.learning_rate, removed in Keras 3")
        self.learning_rate = value

    # --- slots ------------------------------------------------------------------------------

    @property
    def built(self):
        """Whether the optimizer has met its variables (and created their slots)."""
        return self._variables is not None

    def build(self, variables):
        """Creates the slots for ``variables`` (called by the first apply, or by ``fit`` before
        the first step).

        Raises:
            ValueError: when a hyper-parameter set by :meth:`floor` (``epsilon``) rounds to 0
                in a variable's dtype (1e-50 in float32); nothing is created then.
        """
        variables = list(variables)
        self._check_floors(variables)
        same = self._variables is not None and len(variables) == len(self._variables) and all(
            map(operator.is_, variables, self._variables))
        self._variables = variables
        self._index = {id(v): i for i, v in enumerate(self._variables)}
        if not same:
            self._layout, self._work = None, {}
        if self.use_ema:
            self.add_slot("average")
        if self._layout is None and self._elementwise():
            # the weights take their final arrays now, before a training step records them; the
            # slots a subclass adds after this are laid out at the first step
            self._layout = FlatLayout(variables, self._slots)

    def _check_floors(self, variables):
        first_of_dtype = {}
        for variable in variables:
            first_of_dtype.setdefault(variable.dtype, variable)
        for dtype, variable in first_of_dtype.items():
            for name in self._floors:
                value = getattr(self, name)
                if np.asarray(value, dtype=dtype) == 0:
                    raise ValueError(
                        f"{type(self).__name__}: {name}={value!r} rounds to 0 in {dtype}, the dtype "
                        f"of {getattr(variable, 'path', 'a variable')}; use at least "
                        f"{np.finfo(dtype).smallest_subnormal:.2g} (1e-07 is the default)")

    def add_slot(self, name, fill=0.0):
        self._slots[name] = [np.full(v.shape, fill, dtype=v.dtype) for v in self._variables]
        return self._slots[name]

    def slot(self, name, variable):
        """The slot ``name`` of ``variable`` (or the flat slot of a :class:`FlatGroup`)."""
        if variable.__class__ is FlatGroup:
            return variable.slots[name]
        return self._slots[name][self._index[id(variable)]]

    def work_array(self, variable):
        """An array of ``variable``'s shape and dtype that ``update_step`` may overwrite, kept
        from one step to the next (made at its first use)."""
        array = self._work.get(id(variable))
        if array is None:
            array = self._work[id(variable)] = np.empty_like(variable.data)
        return array

    @property
    def variables(self):
        """The step counter and every slot array, in a fixed order (for saving and tests)."""
        arrays = [np.asarray(self.iterations)]
        for name in sorted(self._slots):
            arrays.extend(self._slots[name])
        return arrays

    # --- applying gradients -----------------------------------------------------------------

    def apply_gradients(self, grads_and_vars):
        """Keras's form: a list of ``(gradient, variable)`` pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads, variables):
        """Updates ``variables`` in place from ``grads`` (arrays or tensors; None is skipped).

        Raises:
            ValueError: if the counts differ, a gradient's shape is not its variable's, or the
                variables are not the ones the optimizer was built for.
        """
        grads = [g.data if isinstance(g, Tensor) else g for g in grads]
        variables = list(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{self.name}: received {len(grads)} gradients for "
                             f"{len(variables)} variables")
        for g, v in zip(grads, variables):
            if g is not None and g.shape != v.shape:
                raise ValueError(f"{self.name}: the gradient for {getattr(v, 'path', 'a variable')} "
                                 f"has shape {g.shape}, the variable {v.shape}")
        if not self.built:
            self.build(variables)
        elif any(id(v) not in self._index for v in variables):
            raise ValueError(f"{self.name}: these variables are not the ones this optimizer was "
                             f"built for; use a new optimizer for a new model")
        distributed = active_data_parallel()
        if distributed is not None:
            # data parallel: this process's gradients are of its shard; the sum across
            # processes, weighted by shard sizes, is the whole batch's (the same everywhere)
            grads = distributed.reduce_gradients(grads, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        grads = self._clipped([g for g, _ in pairs])
        lr = self.learning_rate
        if self.decay:
            lr = lr / (1.0 + self.decay * self.iterations)
        self.prepare_step(lr)
        changed = [v for _, v in pairs]
        # what update_step runs on: the variables one by one, or flat groups and the rest
        parts, part_grads = changed, grads
        layout = self._flat_layout(grads, changed)
        if layout is not None:
            for group in layout.groups:
                group.gather(grads)
            singles = layout.singles
            parts = layout.groups + [changed[p] for p in singles]
            part_grads = [group.grad for group in layout.groups] + [grads[p] for p in singles]
        if self.weight_decay:
            for part in parts:
                w = part.data
                w -= w * (self.weight_decay * lr)
        for g, part in zip(part_grads, parts):
            self.update_step(g, part, lr)
        if self.use_ema:
            changed = self._update_moving_average(changed)
        # Keras's order: the constraints see the weights after the EMA step (and an overwrite)
        for _, v in pairs:
            self._constrain(v)
        # a backward through a graph that saved these weights before the step now refuses
        autograd.mark_changed(*(v.data for v in changed))
        self.iterations += 1

    def _flat_layout(self, grads, variables):
        """The :class:`FlatLayout` whose groups ``update_step`` runs on this step, or None to run
        it per variable: when the update is not marked elementwise, when some variable has no
        gradient (or they come in another order), when no variables could be laid out, or when a
        gradient's dtype is not its variable's. Lays the arrays out (again) when something
        rebound one since the last step."""
        if not self._elementwise():
            return None
        if len(variables) != len(self._variables) or not all(
                map(operator.is_, variables, self._variables)):
            return None
        layout = self._layout
        if layout is None or not layout.restore(self._variables, self._slots):
            for group in layout.groups if layout is not None else ():
                self._work.pop(id(group), None)
            layout = self._layout = FlatLayout(self._variables, self._slots)
        if not layout.groups or not layout.accepts(grads):
            return None
        return layout

    def _elementwise(self):
        return self._flat and getattr(type(self).update_step, "elementwise", False)

    def prepare_step(self, lr):
        """Called once per step with its learning rate, before any weight changes: a subclass
        checks that the step can be taken, or computes what all its variables share (Nadam's
        momentum schedule). Does nothing here."""

    def _update_moving_average(self, changed):
        """``average = m * average + (1 - m) * w`` for every variable the optimizer was built for
        (m = 0 at the first step, so it starts at the weights), then, every
        ``ema_overwrite_frequency`` steps, the weights take their averages. Returns the variables
        whose values changed."""
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        for variable, average in zip(self._variables, self._slots["average"]):
            average *= momentum
            average += (1.0 - momentum) * variable.data
        frequency = self.ema_overwrite_frequency
        if frequency is not None and (self.iterations + 1) % frequency == 0:
            for variable, average in zip(self._variables, self._slots["average"]):
                variable.data[...] = average
            return list(self._variables)
        return changed

    def _constrain(self, variable):
        """Assigns ``variable.constraint(variable)`` (a Tensor or an array) to the variable, as
        Keras does after each update (a weight with ``kernel_constraint="non_neg"``)."""
        constraint = getattr(variable, "constraint", None)
        if constraint is None:
            return
        with autograd.no_grad():
            value = constraint(variable)
        value = value.data if isinstance(value, Tensor) else np.asarray(value)
        if value.shape != variable.shape:
            raise ValueError(f"{self.name}: the constraint {constraint!r} of "
                             f"{getattr(variable, 'path', 'a variable')} returned shape "
                             f"{value.shape}; expected the variable's {variable.shape}")
        variable.data[...] = value

    def finalize_variable_values(self, var_list):
        """Writes the moving averages into ``var_list`` when ``use_ema`` is set (``fit`` calls this
        at its end, as Keras's does); otherwise does nothing. Before the first step there is no
        average yet and the weights are left as they are (Keras would overwrite them with the
        zeros its averages start from).

        Raises:
            ValueError: if a variable is not one this optimizer was built for.
        """
        if not self.use_ema or not self.built or self.iterations == 0:
            return
        var_list = list(var_list)
        unknown = [getattr(v, "path", repr(v)) for v in var_list if id(v) not in self._index]
        if unknown:
            raise ValueError(f"{self.name}: finalize_variable_values received variables this "
                             f"optimizer was not built for: {unknown}")
        averages = self._slots["average"]
        for variable in var_list:
            variable.data[...] = averages[self._index[id(variable)]]
        autograd.mark_changed(*(v.data for v in var_list))

    def _clipped(self, grads):
        if self.clipnorm is not None:
            grads = [g * (self.clipnorm / max(_norm(g), self.clipnorm)) if self.clipnorm else g * 0.0
                     for g in grads]
        if self.global_clipnorm is not None:
            total = math.sqrt(sum(_norm(g) ** 2 for g in grads))
            scale = self.global_clipnorm / max(total, self.global_clipnorm) if self.global_clipnorm else 0.0
            grads = [g * scale for g in grads]
        if self.clipvalue is not None:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def update_step(self, grad, variable, lr):
        raise NotImplementedError

    def get_config(self):
        """The constructor's arguments, Keras's keys (a schedule as ``{class_name, config}``; a
        learning rate that is a function as None: it has no data form)."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = {"class_name": type(rate).__name__, "config": rate.get_config()}
        elif not _is_number(rate):
            rate = None
        config = {"name": self.name, "learning_rate": rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm,
                  "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}
        if self.decay is not None:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The optimizer :meth:`get_config` describes (a fresh one: no steps, no slots).

        Raises:
            ValueError: for a learning-rate schedule that is not one of chainrule's.
        """
        config = dict(config)
        rate = config.get("learning_rate")
        if isinstance(rate, dict):
            name = rate.get("class_name")
            schedule = None
            if isinstance(name, str):
                schedule = (custom_objects or {}).get(name) or getattr(schedules, name, None)
            known = isinstance(schedule, type) and issubclass(schedule, LearningRateSchedule)
            if not known:
                raise ValueError(f"{cls.__name__}.from_config: unknown learning-rate schedule "
                                 f"{name!r}")
            schedule_config = rate.get("config", {})
            if not isinstance(schedule_config, dict):
                raise TypeError(f"{cls.__name__}.from_config: expected the config of schedule "
                                f"{name} as a dict, received {schedule_config!r}")
            config["learning_rate"] = schedule.from_config(schedule_config) if hasattr(
                schedule, "from_config") else schedule(**schedule_config)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={self._learning_rate!r}>"


def _is_number(value):
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)


def _is_finite(value):
    """A real number that is neither nan nor infinite: a hyper-parameter that keeps weights finite."""
    return _is_number(value) and math.isfinite(value)


def _norm(g):
    return math.sqrt(float(np.vdot(g, g)))
