"""Compile settings and optimizer state, between Keras's descriptions and chainrule's.

Pure functions, no file I/O: the archive and HDF5 readers hand over JSON values and arrays.

* :func:`compile_from_keras` turns Keras 3's ``compile_config`` (or tf.keras 2's legacy
  ``training_config``) into the description that chainrule's own reader
  (``chainrule.saving.serialization._read_compile``) builds a :class:`Compiled` from.
* :func:`compile_to_keras` is the reverse: a ``compile_config`` that
  ``keras.saving.load_model`` passes to ``model.compile``.
* :func:`optimizer_state_to_keras` and :func:`optimizer_state_from_keras` convert an optimizer's
  step count, learning rate and slots to and from the list Keras 3 saves under
  ``optimizer/vars/0``, ``1``, ... of ``model.weights.h5``.

Nothing named in a file is imported or evaluated: every class or function name is looked up in
chainrule's registries (optimizers, schedules, losses, metrics) or among what the caller passes in
``custom_objects`` or registered with ``chainrule.saving.register``.

Keras 3's optimizer variables (``optimizer.variables``, Keras 3.15.1,
``keras/src/optimizers/base_optimizer.py`` and each optimizer's ``build``), in order:

1. ``iteration`` (int32 on JAX, int64 on TensorFlow), shape ();
2. ``learning_rate`` (float32), shape (); only when the learning rate is a number, not a schedule;
3. with ``use_ema``: ``average`` of every trainable variable;
4. each optimizer's slots, created by ``add_optimizer_variables(variables, names)``, which
   interleaves the names per variable (Adam: kernel momentum, kernel velocity, bias momentum, bias
   velocity, ...), call after call (Adam's ``velocity_hat`` come after all the pairs);
5. Nadam only: its running momentum product ``u_product``, a scalar of the first variable's dtype.

An optimizer that never stepped (a model compiled but not trained) holds only 1 and 2 in Keras;
:func:`optimizer_state_to_keras` writes the same for an unbuilt chainrule optimizer (and Keras,
loading it into the optimizer it builds for the model, warns and skips it, as it does for its own).

The update rules of chainrule's optimizers are Keras's, so state carries over: checked step by
step against Keras 3 on JAX for every optimizer (tests/saving/test_keras_training.py). Nadam's
momentum product is Keras's variable and chainrule's cached ``_u_product`` (recomputed from
``iterations`` when missing), read and written here. Differences that do not touch the state:
chainrule's RMSprop(centered=True) floors ``s - a^2`` at 0 and Ftrl keeps a weight where Keras
divides 0 by 0 (both only where Keras would produce nan).

Legacy ``.h5`` files keep their optimizer's weights under ``optimizer_weights`` (listed in order
by the group's ``weight_names`` attribute). Keras 3's loader
(``keras/src/legacy/saving/legacy_h5_format.py``) builds its optimizer and calls ``set_weights``
with them, which takes them in its own order (the list above). A file Keras 3 wrote holds exactly
that list, and it loads; tf.keras 2's list (no learning-rate variable, its own slot order) does not
fit, and Keras 3 logs "Error in loading the saved optimizer state" and trains with a fresh
optimizer. chainrule does the same, without the noise (see :func:`legacy_optimizer_weights_fit`):
the list of a file whose ``keras_version`` is 3.x goes to :func:`optimizer_state_from_keras`, a
tf.keras 2 file's is ignored and the optimizer starts fresh (its ``training_config`` is still read,
by :func:`compile_from_keras` with ``legacy=True``).
"""

import inspect
import math

from chainrule import losses, metrics, optimizers
from chainrule._backend import numpy as np
from chainrule.optimizers import schedules
from chainrule.optimizers.optimizer import Optimizer
from chainrule.saving.format import SavingError

_OPTIMIZERS = {cls.__name__: cls for cls in optimizers.ALL.values()}
_OPTIMIZERS_LOWER = {name.lower(): cls for name, cls in _OPTIMIZERS.items()}
_SCHEDULES = {cls.__name__: cls for cls in (
    schedules.ExponentialDecay, schedules.InverseTimeDecay, schedules.PiecewiseConstantDecay,
    schedules.CosineDecay)}

# Keras 3's optimizer arguments that chainrule accepts only at their default (None), and tf.keras
# 2's (legacy files) that do not change the update (``jit_compile``, ``is_legacy_optimizer``)
_ONLY_DEFAULT = {"loss_scale_factor": None, "gradient_accumulation_steps": None}
_LEGACY_IGNORED = ("jit_compile", "is_legacy_optimizer")

# the slots of each optimizer in Keras's order: one tuple per add_optimizer_variables call, whose
# names it interleaves per variable (see the module docstring); chainrule's slot names
_SLOT_GROUPS = {
    optimizers.Adam: lambda o: [("m", "v")] + ([("v_hat",)] if o.amsgrad else []),
    optimizers.SGD: lambda o: [("momentum",)] if o.momentum else [],
    optimizers.RMSprop: lambda o: [("velocity",)] + ([("momentum",)] if o.momentum else [])
    + ([("average_gradient",)] if o.centered else []),
    optimizers.Adagrad: lambda o: [("accumulator",)],
    optimizers.Adamax: lambda o: [("momentum", "norm")],
    optimizers.Nadam: lambda o: [("momentum", "velocity")],
    optimizers.Lion: lambda o: [("momentum",)],
    optimizers.Adadelta: lambda o: [("accumulated_grad", "accumulated_delta_var")],
    optimizers.Ftrl: lambda o: [("accumulator", "linear")],
}

_KERAS_MODULES = ("keras.", "tf_keras.", "tensorflow.keras.", "tensorflow.python.keras.")


# --- compile settings: Keras -> chainrule ----------------------------------------------------


def compile_from_keras(compile_config, where, legacy=False, custom_objects=None):
    """Keras's compile settings as chainrule's compile description.

    Args:
        compile_config: Keras 3's ``compile_config`` (``{"optimizer", "loss", "loss_weights",
            "metrics", "weighted_metrics", "run_eagerly", "steps_per_execution",
            "jit_compile"}``), or with ``legacy`` tf.keras 2's ``training_config``
            (``{"optimizer_config", "loss", "metrics", "weighted_metrics", "loss_weights"}``).
        where: the file (and key) named in errors.
        legacy: whether ``compile_config`` is a tf.keras 2 ``training_config``.
        custom_objects: names of the caller's own loss and metric functions or classes; a
            custom object is admitted only by a name found there or registered with
            ``chainrule.saving.register``.

    Returns:
        ``{"optimizer": {"class_name", "config"}, "loss", "loss_weights", "metrics",
        "weighted_metrics"}``, as ``chainrule.saving.serialization._read_compile`` reads it.
        ``run_eagerly``, ``steps_per_execution`` and ``jit_compile`` are dropped: they do not
        change what a step computes.

    Raises:
        SavingError: for an optimizer, schedule, loss or metric that chainrule does not have and
            the caller did not register, an optimizer argument chainrule lacks at a value other
            than Keras's default, or a value of the wrong kind; naming what and where.
    """
    if not isinstance(compile_config, dict):
        raise SavingError(f"{where}: expected the compile settings as an object, found "
                          f"{_short(compile_config)}")
    # tf.keras 2's training_config (.h5) names it optimizer_config, its compile_config (.keras) optimizer
    optimizer_key = "optimizer_config" if legacy and "optimizer_config" in compile_config else "optimizer"
    optimizer = _optimizer_from_keras(compile_config.get(optimizer_key, "rmsprop"),
                                      f"{where}, {optimizer_key}", legacy, custom_objects)
    lookup = _Names(custom_objects)
    loss = _structure_from_keras(compile_config.get("loss"),
                                 lambda item, at: _loss_from_keras(item, at, legacy, lookup),
                                 f"{where}, loss")
    converted = {}
    for key in ("metrics", "weighted_metrics"):
        value = compile_config.get(key)
        if legacy and isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
            # tf.keras 2 lists a single output's metrics as [[...]]
            value = value[0]
        converted[key] = _structure_from_keras(
            value, lambda item, at: _metric_from_keras(item, at, legacy, lookup), f"{where}, {key}")
    return {"optimizer": optimizer, "loss": loss,
            "loss_weights": _loss_weights(compile_config.get("loss_weights"), where),
            "metrics": converted["metrics"], "weighted_metrics": converted["weighted_metrics"]}


class _Names:
    """The caller's custom objects and chainrule's registered ones, by name: a name such as
    Keras's ``"package>name"`` is also tried as ``name``."""

    def __init__(self, custom_objects):
        from chainrule.saving import serialization  # the registry the file reader uses

        self.sources = (custom_objects or {}, serialization._REGISTERED)

    def find(self, name):
        """The name under which ``name`` is known (itself or its part after ``>``), or None."""
        if not isinstance(name, str):
            return None
        for candidate in (name, name.rsplit(">", 1)[-1]):
            if any(candidate in source for source in self.sources):
                return candidate
        return None


def _short(value):
    return f"{value!r:.200}"


def _check_module(item, where, what, modules=_KERAS_MODULES, extra=()):
    """An object's ``module`` must be Keras's (or absent, as in tf.keras 2): chainrule reads names
    only, and a module of anything else says the name is not the one chainrule would look up."""
    module = item.get("module")
    if module is None or module in extra:
        return
    if not isinstance(module, str) or not (module == "keras" or module.startswith(modules)):
        raise SavingError(f"{where}: the {what} {item.get('class_name')!r} comes from module "
                          f"{_short(module)}; chainrule reads only Keras's own {what}s and those "
                          f"registered with chainrule.saving.register")


def _optimizer_from_keras(item, where, legacy, custom_objects):
    if isinstance(item, str):
        cls = _OPTIMIZERS_LOWER.get(item.lower())
        if cls is None:
            raise SavingError(f"{where}: unknown optimizer {item!r}; chainrule has "
                              f"{sorted(_OPTIMIZERS)}")
        return {"class_name": cls.__name__, "config": {}}
    if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
        raise SavingError(f"{where}: expected the optimizer as a name or {{class_name, config}}, "
                          f"found {_short(item)}")
    name, config = item["class_name"], item.get("config", {})
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SavingError(f"{where}: expected the config of optimizer {name!r} as an object, "
                          f"found {_short(config)}")
    if legacy and name.startswith("Custom>") and name[len("Custom>"):].lower() in _OPTIMIZERS_LOWER:
        name = name[len("Custom>"):]  # tf.keras 2.11+ registers its built-in optimizers as "Custom>Adam"
    cls = _OPTIMIZERS_LOWER.get(name.lower())  # as Keras: built-in names in any case
    if cls is None:
        found = _Names(custom_objects).find(item.get("registered_name")) or _Names(
            custom_objects).find(name)
        if found is None:
            raise SavingError(f"{where}: unknown optimizer {name!r}; chainrule has "
                              f"{sorted(_OPTIMIZERS)} (a custom one must be registered with "
                              f"chainrule.saving.register)")
        return {"class_name": found, "config": dict(config)}
    _check_module(item, where, "optimizer")
    config = dict(config)
    accepted = set(inspect.signature(cls.__init__).parameters) | set(
        inspect.signature(Optimizer.__init__).parameters)
    for key in list(config):
        value = config[key]
        if legacy and key in _LEGACY_IGNORED:
            del config[key]
        elif key == "decay" and (not value or not legacy):
            # tf.keras 2's time-based decay: off, or in a Keras 3 file, where Keras ignores it;
            # a legacy file's is kept (chainrule applies it, as tf.keras 2 did)
            del config[key]
        elif key in _ONLY_DEFAULT and value != _ONLY_DEFAULT[key]:
            raise SavingError(f"{where}: optimizer {cls.__name__} has {key}={_short(value)}, which "
                              f"chainrule does not support (only {_ONLY_DEFAULT[key]!r})")
        elif key not in accepted and key not in ("decay", "lr"):
            raise SavingError(f"{where}: optimizer {cls.__name__} has {key}={_short(value)}, an "
                              f"argument chainrule's {cls.__name__} does not have")
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        config["learning_rate"] = _schedule_from_keras(rate, f"{where}, learning_rate")
    elif rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        raise SavingError(f"{where}: optimizer {cls.__name__}'s learning_rate must be a number or "
                          f"a schedule, found {_short(rate)}")
    return {"class_name": cls.__name__, "config": config}


def _schedule_from_keras(item, where):
    name = item.get("class_name")
    if not isinstance(name, str) or name not in _SCHEDULES:
        raise SavingError(f"{where}: unknown learning-rate schedule {_short(name)}; chainrule has "
                          f"{sorted(_SCHEDULES)}")
    _check_module(item, where, "learning-rate schedule")
    config = item.get("config", {})
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SavingError(f"{where}: expected the config of schedule {name} as an object, found "
                          f"{_short(config)}")
    return {"class_name": name, "config": dict(config)}


# losses and metrics nest at most as a dict by output of lists (tf.keras 2: a list of lists)
_MAX_NESTING = 4


def _structure_from_keras(value, convert, where, depth=0):
    """Keras's loss or metrics argument (one item, a list, or a dict by output name, nested) in
    chainrule's form, with ``convert(item, where)`` applied to each item."""
    if value is None:
        return None
    if depth > _MAX_NESTING and isinstance(value, (list, dict)):
        raise SavingError(f"{where}: nested deeper than losses or metrics per output can be")
    if isinstance(value, list):
        return [_structure_from_keras(v, convert, f"{where}[{i}]", depth + 1)
                for i, v in enumerate(value)]
    if isinstance(value, dict) and "class_name" not in value:
        if not all(isinstance(k, str) for k in value):
            raise SavingError(f"{where}: expected output names as keys, found {_short(value)}")
        return {"__per_output__": {k: _structure_from_keras(v, convert, f"{where}[{k!r}]",
                                                            depth + 1)
                                   for k, v in value.items()}}
    return convert(value, where)


def _function_name(item, where, what):
    """The name a serialized function (``{"class_name": "function", "config": name}``) gives."""
    _check_module(item, where, what, extra=("builtins",))
    name = item.get("config")
    if not isinstance(name, str):
        raise SavingError(f"{where}: expected a {what} function's name, found {_short(name)}")
    return name


def _class_config(item, where, what, legacy):
    config = item.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SavingError(f"{where}: expected the config of {what} {item['class_name']!r} as an "
                          f"object, found {_short(config)}")
    config = dict(config)
    if legacy and config.get("reduction") == "auto":
        config["reduction"] = "sum_over_batch_size"  # what tf.keras 2's "auto" meant in fit
    return config


def _known_loss(name):
    if name in losses.CLASS_NAMES:
        return True
    key = name.lower()
    return key in losses.ALL or key in losses.TF_KERAS_2 or key in ("crossentropy", "ce")


def _entry_from_keras(item, where, legacy, lookup, kind, known, classes):
    """A loss or metric (``kind``) from Keras's description: a name (``known`` to chainrule, or a
    registered function), a serialized function, or a class of ``classes`` with its config."""
    if isinstance(item, str):
        return item if known(item) else _custom(item, lookup, where, f"{kind} function")
    if not isinstance(item, dict) or not isinstance(item.get("class_name"), str):
        raise SavingError(f"{where}: expected a {kind} name or {{class_name, config}}, found "
                          f"{_short(item)}")
    name = item["class_name"]
    if name == "function":
        function = _function_name(item, where, kind)
        return function if known(function) else _custom(function, lookup, where, f"{kind} function")
    if kind == "metric" and name == "MeanMetricWrapper":
        # tf.keras 2 saved a metric given by name as this wrapper of the function it resolved to
        _check_module(item, where, kind)
        function = _class_config(item, where, kind, legacy).get("fn")
        if isinstance(function, str) and known(function):
            return function
        raise SavingError(f"{where}: a MeanMetricWrapper of {_short(function)}, which is not one "
                          f"of chainrule's metrics")
    if classes.get(name) is not None:
        _check_module(item, where, kind)
        return {"class_name": name, "config": _class_config(item, where, kind, legacy)}
    found = lookup.find(item.get("registered_name")) or lookup.find(name)
    if found is None:
        plural = {"loss": "losses", "metric": "metrics"}[kind]
        raise SavingError(f"{where}: unknown {kind} {name!r}; it is neither one of chainrule's "
                          f"{plural} ({sorted(classes)}) nor registered (pass it in custom_objects "
                          f"or call chainrule.saving.register)")
    return {"class_name": found, "config": _class_config(item, where, kind, legacy)}


def _loss_from_keras(item, where, legacy, lookup):
    return _entry_from_keras(item, where, legacy, lookup, "loss", _known_loss, losses.CLASS_NAMES)


def _known_metric(name):
    key = name.lower()
    return (name in metrics.CLASS_NAMES or key in metrics.ALL or key in metrics.TF_KERAS_2
            or key in ("accuracy", "acc"))


def _metric_from_keras(item, where, legacy, lookup):
    return _entry_from_keras(item, where, legacy, lookup, "metric", _known_metric, metrics.CLASS_NAMES)


def _custom(name, lookup, where, what):
    found = lookup.find(name)
    if found is None:
        raise SavingError(f"{where}: unknown {what} {name!r}; it is neither chainrule's nor "
                          f"registered (pass it in custom_objects or call "
                          f"chainrule.saving.register; nothing named in a file is imported)")
    return {"function": found}


def _loss_weights(value, where):
    if value is None:
        return None
    numbers = value.values() if isinstance(value, dict) else value
    if not isinstance(value, (list, dict)) or not all(
            (isinstance(w, float) and math.isfinite(w)) or (type(w) is int and abs(w) < 2**53)
            for w in numbers):
        raise SavingError(f"{where}: loss_weights must be a list or dict of finite numbers, found "
                          f"{_short(value)}")
    return value


# --- compile settings: chainrule -> Keras ----------------------------------------------------


def compile_to_keras(compiled, where):
    """chainrule's compile settings as Keras 3's ``compile_config``.

    Args:
        compiled: ``model.compiled`` (a :class:`chainrule.training.compile.Compiled`).
        where: the file named in errors.

    Returns:
        A JSON-ready dict that ``keras.saving.load_model`` (``model.compile_from_config``)
        compiles into the same optimizer (class and every hyper-parameter), losses and metrics.

    Raises:
        SavingError: for what Keras cannot hold or would train differently with: an optimizer,
            loss or metric that is not one of chainrule's built-in classes (a function only when
            registered), a learning rate that is a function, tf.keras 2's ``decay`` (Keras 3
            ignores it), or more than one of clipnorm, clipvalue and global_clipnorm (Keras 3
            refuses that).
    """
    if compiled is None:
        return None
    return {"optimizer": _optimizer_to_keras(compiled.optimizer, f"{where}, optimizer"),
            "loss": _structure_to_keras(compiled.loss, lambda l: _loss_to_keras(l, where)),
            "loss_weights": compiled.loss_weights,
            "metrics": _structure_to_keras(compiled.metric_ids or None,
                                           lambda m: _metric_to_keras(m, where)),
            "weighted_metrics": _structure_to_keras(compiled.weighted_metric_ids or None,
                                                    lambda m: _metric_to_keras(m, where)),
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": "auto"}


def _keras_object(module, class_name, config):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _optimizer_to_keras(optimizer, where):
    cls = type(optimizer)
    if _OPTIMIZERS.get(cls.__name__) is not cls:
        raise SavingError(f"{where}: the optimizer {optimizer!r} is not one of chainrule's "
                          f"built-in optimizers {sorted(_OPTIMIZERS)}, which Keras has too")
    config = optimizer.get_config()
    if config.pop("decay", None):
        raise SavingError(f"{where}: {cls.__name__} has decay={optimizer.decay!r}, tf.keras 2's "
                          f"time-based decay, which Keras 3 ignores; use learning_rate="
                          f"InverseTimeDecay(lr, decay_steps=1, decay_rate={optimizer.decay!r})")
    clipping = [k for k in ("clipnorm", "clipvalue", "global_clipnorm")
                if config.get(k) is not None]
    if len(clipping) > 1:
        raise SavingError(f"{where}: {cls.__name__} sets {' and '.join(clipping)}; Keras 3 accepts "
                          f"only one of clipnorm, clipvalue and global_clipnorm")
    rate = optimizer._learning_rate
    if isinstance(rate, schedules.LearningRateSchedule):
        if _SCHEDULES.get(type(rate).__name__) is not type(rate):
            raise SavingError(f"{where}: the learning-rate schedule {rate!r} is not one of "
                              f"chainrule's {sorted(_SCHEDULES)}")
        schedule = rate.get_config()
        if schedule.get("name") is None:
            schedule.pop("name", None)  # Keras wants a string; without one it takes its default
        config["learning_rate"] = _keras_object("keras.optimizers.schedules", type(rate).__name__,
                                                schedule)
    elif callable(rate):
        raise SavingError(f"{where}: {cls.__name__}'s learning rate is a function, which a file "
                          f"cannot hold; use a number or a schedule")
    else:
        config["learning_rate"] = float(rate)  # Keras refuses an int
    return _keras_object("keras.optimizers", cls.__name__, config)


def _structure_to_keras(value, convert):
    if value is None:
        return None
    if isinstance(value, dict):
        return {str(k): _structure_to_keras(v, convert) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_structure_to_keras(v, convert) for v in value]
    return convert(value)


def _registered_function(function, where, what):
    from chainrule.saving import serialization

    name = getattr(function, "__name__", None)
    if name is None or serialization._REGISTERED.get(name) is not function:
        raise SavingError(f"{where}: the {what} function {function!r} is not registered; call "
                          f"chainrule.saving.register({name}) (and register it in Keras by the "
                          f"same name)")
    # Keras's form of a function (serialization_lib.serialize_keras_object)
    return {"module": "builtins", "class_name": "function", "config": name,
            "registered_name": "function"}


def _loss_to_keras(loss, where):
    if isinstance(loss, losses._Crossentropy):
        return loss.name if loss.name in ("crossentropy", "ce") else "crossentropy"
    if type(loss) is losses.LossFunctionWrapper:
        return _registered_function(loss.fn, where, "loss")
    if losses.CLASS_NAMES.get(type(loss).__name__) is not type(loss):
        raise SavingError(f"{where}: the loss {loss!r} is not one of chainrule's built-in losses, "
                          f"which Keras has too")
    config = loss.get_config()
    if loss.dtype is not None:
        config["dtype"] = loss.dtype
    return _keras_object("keras.losses", type(loss).__name__, config)


def _metric_to_keras(metric, where):
    if isinstance(metric, str):
        return metric
    if isinstance(metric, type) and metrics.CLASS_NAMES.get(metric.__name__) is metric:
        return metric.__name__
    if isinstance(metric, metrics.Metric):
        if metrics.CLASS_NAMES.get(type(metric).__name__) is not type(metric):
            raise SavingError(f"{where}: the metric {metric!r} is not one of chainrule's built-in "
                              f"metrics, which Keras has too")
        return _keras_object("keras.metrics", type(metric).__name__, metric.get_config())
    if callable(metric):
        return _registered_function(metric, where, "metric")
    raise SavingError(f"{where}: unexpected metric {metric!r}")


# --- optimizer state -------------------------------------------------------------------------


def _slot_groups(optimizer, where):
    """The optimizer's slot names in Keras's order (see the module docstring)."""
    rule = next((_SLOT_GROUPS[cls] for cls in type(optimizer).__mro__ if cls in _SLOT_GROUPS), None)
    if rule is None:
        raise SavingError(f"{where}: the optimizer {optimizer!r} has no Keras layout of its "
                          f"variables; chainrule knows {sorted(_OPTIMIZERS)}")
    groups = ([("average",)] if optimizer.use_ema else []) + rule(optimizer)
    return groups


def _has_rate_variable(optimizer):
    """Whether Keras keeps the learning rate as a variable: when it is a number."""
    rate = optimizer._learning_rate
    return not isinstance(rate, schedules.LearningRateSchedule) and not callable(rate)


def _expected(optimizer, variables, where):
    """What Keras's list holds for ``optimizer`` built on ``variables``: (label, shape) pairs, the
    slot (name, position) of each slot entry, and whether Nadam's product comes last."""
    entries = [("iteration", ())]
    if _has_rate_variable(optimizer):
        entries.append(("learning_rate", ()))
    slots = []
    for group in _slot_groups(optimizer, where):
        for position, variable in enumerate(variables):
            for name in group:
                label = f"{name} of {getattr(variable, 'path', f'variable {position}')}"
                entries.append((label, tuple(variable.shape)))
                slots.append((name, position))
    nadam = isinstance(optimizer, optimizers.Nadam)
    if nadam:
        entries.append(("u_product", ()))
    return entries, slots, nadam


def optimizer_state_to_keras(optimizer, trainable_weights, where="optimizer"):
    """The optimizer's state as the list Keras 3 saves (``optimizer/vars/0``, ``1``, ...).

    Args:
        optimizer: a chainrule optimizer (one of ``chainrule.optimizers.ALL``).
        trainable_weights: the model's trainable weights in Keras's order
            (``model.trainable_variables``).
        where: named in errors.

    Returns:
        A list of arrays: the step count (int32), the learning rate (float32, unless it is a
        schedule), and the slots in Keras's order, copies. An optimizer not built yet gives the
        first two only, as Keras saves a compiled model that never trained.

    Raises:
        SavingError: for an optimizer chainrule has no Keras layout for, or one built for other
            variables than ``trainable_weights``.
    """
    variables = list(trainable_weights)
    arrays = [np.asarray(optimizer.iterations, dtype=np.int64 if optimizer.iterations >= 2**31
                         else np.int32)]
    if _has_rate_variable(optimizer):
        arrays.append(np.asarray(optimizer.learning_rate, dtype=np.float32))
    if not optimizer.built:
        return arrays
    index = {id(v): i for i, v in enumerate(optimizer._variables)}
    missing = [getattr(v, "path", repr(v)) for v in variables if id(v) not in index]
    if missing or len(variables) != len(optimizer._variables):
        raise SavingError(f"{where}: the optimizer was built for other weights than the model's "
                          f"trainable ones (not among them: {missing or 'none'}; "
                          f"{len(optimizer._variables)} built, {len(variables)} trainable)")
    _, slots, nadam = _expected(optimizer, variables, where)
    for name, position in slots:
        arrays.append(np.array(optimizer._slots[name][index[id(variables[position])]]))
    if nadam:
        dtype = variables[0].dtype if variables else np.float32
        arrays.append(np.asarray(_nadam_product(optimizer), dtype=dtype))
    return arrays


def _nadam_product(optimizer):
    """U_t, the product of Nadam's momentum schedule over the steps taken so far."""
    if optimizer._u_product_step == optimizer.iterations:
        return optimizer._u_product
    return optimizer.product_through(optimizer.iterations)


def optimizer_state_from_keras(optimizer, trainable_weights, arrays, where):
    """Sets the optimizer's step count, learning rate and slots from Keras 3's saved list.

    Everything is checked first (the count, each array's kind and shape, the step count and
    learning rate's values); the optimizer changes only when all of it fits. It is built for
    ``trainable_weights`` if it was not, and its slots are then written in place. A list of the
    step count and learning rate only (Keras's compiled model that never trained) sets those two.

    Args:
        optimizer: a chainrule optimizer (one of ``chainrule.optimizers.ALL``), configured as the
            file's (see :func:`compile_from_keras`).
        trainable_weights: the model's trainable weights in Keras's order.
        arrays: the arrays of ``optimizer/vars/0``, ``1``, ... in order.
        where: the file (and key) named in errors.

    Raises:
        SavingError: naming the entry, for a count or shape that does not fit this optimizer and
            these weights, a step count that is not a non-negative integer, a learning rate that
            is not a finite non-negative number, or a slot that is not numbers.
    """
    variables = list(trainable_weights)
    arrays = list(arrays)
    entries, slots, nadam = _expected(optimizer, variables, where)
    header = 2 if _has_rate_variable(optimizer) else 1
    if len(arrays) not in (len(entries), header):
        listed = ", ".join(label for label, _ in entries[:6])
        listed += ", ..." if len(entries) > 6 else ""
        raise SavingError(
            f"{where}: optimizer {type(optimizer).__name__} on {len(variables)} trainable weights "
            f"holds {len(entries)} variables in Keras's layout ({listed}), the file {len(arrays)}")
    for i, (array, (label, shape)) in enumerate(zip(arrays, entries)):
        if not isinstance(array, np.ndarray) or array.dtype.kind not in ("f", "i", "u"):
            raise SavingError(f"{where}: optimizer/vars/{i} ({label}) must be a numeric array, "
                              f"found {type(array).__name__} {getattr(array, 'dtype', '')}")
        if array.shape != shape:
            raise SavingError(f"{where}: optimizer/vars/{i} ({label}) has shape {array.shape}, "
                              f"expected {shape}")
    step = arrays[0]
    if step.dtype.kind not in ("i", "u") or int(step) < 0:
        raise SavingError(f"{where}: optimizer/vars/0 (iteration) must be a non-negative integer, "
                          f"found {step.dtype} {step!r:.50}")
    if len(arrays) == header < len(entries) and int(step) != 0:
        # Keras writes the step and rate alone only for an optimizer that never stepped
        raise SavingError(f"{where}: the optimizer has taken {int(step)} steps but the file holds "
                          f"none of its slots")
    rate = None
    if header == 2:
        rate = float(arrays[1])
        if not math.isfinite(rate) or rate < 0:
            raise SavingError(f"{where}: optimizer/vars/1 (learning_rate) must be a finite "
                              f"non-negative number, found {rate!r}")
    if nadam and len(arrays) == len(entries):
        product = float(arrays[-1])
        if not math.isfinite(product):
            raise SavingError(f"{where}: optimizer/vars/{len(arrays) - 1} (u_product) must be a "
                              f"finite number, found {product!r}")
    full = len(arrays) == len(entries)
    if full:
        same = optimizer.built and len(optimizer._variables) == len(variables) and all(
            a is b for a, b in zip(optimizer._variables, variables))
        if not same:
            try:
                optimizer.build(variables)  # checks before it changes anything
            except ValueError as error:
                raise SavingError(f"{where}: {type(optimizer).__name__} cannot be built for the "
                                  f"model's weights: {error}") from None
    # everything checked: set the state
    optimizer.iterations = int(step)
    current = optimizer._learning_rate
    if rate is not None and not (isinstance(current, (int, float)) and arrays[1].dtype.kind == "f"
                                 and arrays[1].dtype.type(current) == arrays[1]):
        # the file's variable is float32: a rate the configuration already gives, rounded, is
        # kept as the configuration wrote it (training continues bitwise), any other is set
        try:
            optimizer.learning_rate = rate
        except (TypeError, ValueError) as error:  # a subclass's own check (Ftrl's rate 0)
            raise SavingError(f"{where}: optimizer/vars/1 (learning_rate): {error}") from None
    if not full:
        return
    # NOTE: written in place: after build the slot arrays may be views of the flat layout
    # (chainrule.optimizers.flat), which a new array would be copied into only at the next step
    for (name, position), array in zip(slots, arrays[header:]):
        optimizer._slots[name][position][...] = array
    if nadam:
        optimizer._u_product = float(arrays[-1])
        optimizer._u_product_step = optimizer.iterations


def legacy_optimizer_weights_fit(keras_version):
    """Whether a legacy ``.h5`` file's ``optimizer_weights`` are Keras 3's list (see the module
    docstring): True when its root attribute ``keras_version`` says Keras 3 wrote it; then its
    arrays, in the order of ``weight_names``, go to :func:`optimizer_state_from_keras`. tf.keras
    2's (False) are ignored, as Keras 3 in effect ignores them, and the optimizer starts fresh."""
    return isinstance(keras_version, str) and keras_version.split(".", 1)[0] == "3"
