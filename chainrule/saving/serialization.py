"""Models to and from the .chainrule format: architecture, weights, compile settings, optimizer
state and the random generator's state.

Every name read from a file is looked up in chainrule's own registries (layers, optimizers,
schedules, losses, metrics, initializers), extended only by what the caller passes as
``custom_objects`` or registers with :func:`register`. A name found nowhere is an error, never an
import. Every configuration is handed to the class's constructor, which validates it; whatever it
refuses becomes a SavingError naming the layer. The model is assembled completely and its weights
checked before anything is returned.
"""

import heapq
import json

from chainrule import _backend, activations, autograd, initializers, layers, losses, metrics, optimizers
from chainrule.models.functional import Functional
from chainrule.models.model import Model
from chainrule.models.sequential import Sequential
from chainrule.ops.node import KerasTensor
from chainrule.optimizers import schedules
from chainrule.saving.format import SavingError, read_file, write_file
from chainrule.training.compile import Compiled

# every public layer class (aliases such as MaxPool2D name the same class) but the base, the
# operations of functional graphs, and the model kinds
_LAYERS = {cls.__name__: cls for cls in (getattr(layers, name) for name in layers.__all__)
           if isinstance(cls, type) and issubclass(cls, layers.Layer) and cls is not layers.Layer}
_LAYERS.update({cls.__name__: cls for cls in (layers.OpLayer, Sequential, Functional)})
MAX_JSON = 64 * 1024 * 1024  # the longest description model_from_json reads, as a file's header
_OPTIMIZERS = {cls.__name__: cls for cls in optimizers.ALL.values()}
_SCHEDULES = {cls.__name__: cls for cls in (schedules.ExponentialDecay, schedules.PiecewiseConstantDecay,
                                            schedules.CosineDecay, schedules.InverseTimeDecay)}
_LOSSES = {cls.__name__: cls for cls in set(losses.ALL.values()) | {losses._Crossentropy}}
_METRICS = {cls.__name__: cls for cls in set(metrics.ALL.values())}
_INITIALIZERS = {cls.__name__: cls for cls in set(initializers.ALL.values())}
_REGISTERED = {}  # name -> class or function the user registered


def register(obj, name=None):
    """Admits a user-defined layer class (or loss or metric function) to loading by name.

    Returns:
        ``obj``, so it can decorate a class.
    """
    _REGISTERED[name or obj.__name__] = obj
    return obj


def register_keras_serializable(package="Custom", name=None):
    """Keras's decorator, ``@keras.saving.register_keras_serializable()``: registers the class or
    function (see :func:`register`). chainrule's files name it by its own name (Keras's
    ``package`` prefix is accepted and not needed); a different ``name`` is registered too."""
    if not isinstance(package, str) or (name is not None and not isinstance(name, str)):
        raise ValueError(f"register_keras_serializable: package and name must be strings, received "
                         f"{package!r}, {name!r}")

    def decorator(obj):
        register(obj)
        if name is not None and name != obj.__name__:
            register(obj, name)
        return obj

    return decorator


def get_custom_objects():
    """The registered classes and functions by name (Keras's ``keras.saving.get_custom_objects``);
    a dict that can be added to as :func:`register` does."""
    return _REGISTERED


# --- writing ------------------------------------------------------------------------------


def _initializer_config(value, where):
    if isinstance(value, str):
        return value
    name = type(value).__name__
    if _INITIALIZERS.get(name) is type(value):
        return {"class_name": name, "config": value.get_config()}
    raise SavingError(f"{where}: the initializer {value!r} has no name chainrule knows; use an "
                      f"initializer name or a chainrule.initializers class")


def _function_name(function, where, what):
    """The registered name of a user's function, or a SavingError: a file holds only names."""
    name = getattr(function, "__name__", None)
    if _REGISTERED.get(name) is not function:
        raise SavingError(f"{where}: the {what} {name or function!r} is not registered; a file holds only "
                          f"its name, so define it with def and call chainrule.saving.register({name}) "
                          f"(loading needs it registered or in custom_objects too)")
    return name


def _layer_config(layer, where, registered_only=True):
    """A layer's ``{"class_name", "config"}``, any layer class by its name, as Keras writes it
    (the reader needs a user's class registered or in ``custom_objects``). Writing a file
    (``registered_only``) still refuses a subclassed model that is not registered."""
    if isinstance(layer, Model):
        return serialize_model(layer, where, registered_only)
    if isinstance(layer, layers.Lambda):
        config = {**layers.Layer.get_config(layer), "arguments": dict(layer.arguments),
                  "function": _function_name(layer.function, f"{where}, layer {layer.name}", "function"),
                  "output_shape": (_function_name(layer._output_shape, f"{where}, layer {layer.name}",
                                                  "output_shape function")
                                   if callable(layer._output_shape) else
                                   None if layer._output_shape is None else list(layer._output_shape))}
        if layer.mask is not None:
            config["mask"] = (_function_name(layer.mask, f"{where}, layer {layer.name}", "mask function")
                              if callable(layer.mask) else layer._mask_config())
        return {"class_name": "Lambda", "config": config}
    try:
        config = layer.get_config()
    except NotImplementedError as error:
        raise SavingError(f"{where}: {error}") from None
    for key in ("activation", "recurrent_activation"):
        function = getattr(layer, key, None)
        if key in config and config[key] is None and callable(function):
            config[key] = _function_name(function, f"{where}, layer {layer.name}", key)  # a user's, by name
    for key, value in list(config.items()):
        if key.endswith("_initializer"):
            config[key] = _initializer_config(value, f"{where}, layer {layer.name}")
    if isinstance(layer, layers.RNN):  # the cell (cells, for StackedRNNCells) as layers
        config["cell"] = _layer_config(layer.cell, f"{where}, the cell of {layer.name}", registered_only)
    if isinstance(layer, layers.StackedRNNCells):
        config["cells"] = [_layer_config(cell, f"{where}, a cell of {layer.name}", registered_only)
                           for cell in layer.cells]
    if isinstance(layer, layers.Bidirectional):
        # the wrapped layer as its forward copy describes itself (a user's function by name, a
        # cell as a layer), under the wrapped layer's own name and masking setting
        wrapped = config["layer"]["config"]
        config["layer"] = _layer_config(layer.forward_layer, f"{where}, the layer {layer.name} wraps",
                                        registered_only)
        config["layer"]["config"].update({k: wrapped[k] for k in ("name", "zero_output_for_mask") if k in wrapped})
        if "backward_layer" in config:  # one the user gave, not the mirror
            config["backward_layer"] = _layer_config(layer.backward_layer, f"{where}, the backward layer of "
                                                     f"{layer.name}", registered_only)
    # a user's layer class that is not registered is written by name all the same, as Keras
    # writes it: the file holds no code, and loading finds the class only among the registered
    # ones and the caller's custom_objects
    return {"class_name": type(layer).__name__, "config": config}


def serialize_model(model, where, registered_only=True):
    """``{"class_name", "config"}`` of a Sequential, functional or registered subclassed model
    (a subclassed one also records the input shape it was built for)."""
    if isinstance(model, Sequential):
        config = model.get_config()
        config["layers"] = [_layer_config(layer, where, registered_only) for layer in model.layers]
        return {"class_name": "Sequential", "config": config}
    if isinstance(model, Functional) and type(model) is Functional:
        return {"class_name": "Functional", "config": functional_config(model, where, registered_only)}
    cls = type(model)
    original = cls.__mro__[1] if isinstance(model, Functional) and cls.__mro__[1] is not Functional else cls
    name = original.__name__
    if registered_only and _REGISTERED.get(name) is not original:
        raise SavingError(f"{where}: the model is a {name}, a subclass of Model that is not registered; "
                          f"call chainrule.saving.register({name}) (and give it get_config() if its "
                          f"constructor takes more than plain values) to save and load it")
    try:
        config = model.get_config()
    except NotImplementedError as error:
        raise SavingError(f"{where}: {error}") from None
    item = {"class_name": name, "config": config}
    if not isinstance(model, Functional):
        item["build_input_shape"] = getattr(model, "_build_shape", None)
    return item


def _tensor_reference(x, node_numbers):
    operation, node_index, tensor_index = x._keras_history
    return [operation.name, node_numbers[operation][node_index], tensor_index]


def _argument(value, node_numbers, where):
    """A node's argument as plain data: KerasTensors as references to the node that made them,
    slices and tuples tagged, numbers and strings as they are."""
    if isinstance(value, KerasTensor):
        return {"__keras_tensor__": _tensor_reference(value, node_numbers)}
    if isinstance(value, tuple):
        return {"__tuple__": [_argument(v, node_numbers, where) for v in value]}
    if isinstance(value, list):
        return [_argument(v, node_numbers, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) and not k.startswith("__") for k in value):
        return {k: _argument(v, node_numbers, where) for k, v in value.items()}
    if isinstance(value, slice):
        return {"__slice__": [_argument(v, node_numbers, where) for v in (value.start, value.stop, value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, _backend.numpy.generic) and value.dtype.kind in "biuf":
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SavingError(f"{where}: a layer was called with {type(value).__name__} {value!r:.80}, which a "
                      f"data-only file cannot hold")


def functional_config(model, where="get_config", registered_only=True):
    """A functional model's graph as plain data: each layer with the nodes it was called at
    (``inbound_nodes``: its arguments, KerasTensors as ``[layer, node, tensor]`` of the node
    that made them, numbered within this model), and the model's inputs and outputs alike."""
    node_numbers = {}
    for operation in model._operations:
        ours = [i for i, node in enumerate(operation._inbound_nodes)
                if node in model._node_set or node.is_input]
        node_numbers[operation] = {index: number for number, index in enumerate(ours)}
    entries = []
    for operation in model._operations:
        nodes = [node for node in operation._inbound_nodes if node in model._node_set]
        entry = _layer_config(operation, where, registered_only)
        entry["name"] = operation.name
        entry["inbound_nodes"] = [
            {"args": [_argument(a, node_numbers, where) for a in node.call_args],
             "kwargs": {k: _argument(v, node_numbers, where) for k, v in node.call_kwargs.items()}}
            for node in nodes]
        entries.append(entry)

    def references(structure):
        if isinstance(structure, dict):
            return {key: _tensor_reference(x, node_numbers) for key, x in structure.items()}
        if isinstance(structure, (list, tuple)):
            return [_tensor_reference(x, node_numbers) for x in structure]
        return _tensor_reference(structure, node_numbers)

    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": references(model._inputs_struct),
            "output_layers": references(model._outputs_struct)}


def _object_config(obj, table, kind, where):
    name = type(obj).__name__
    if table.get(name) is type(obj):
        return {"class_name": name, "config": obj.get_config()}
    raise SavingError(f"{where}: the {kind} {obj!r} is not one chainrule can describe by name")


def _compile_config(compiled, where):
    if compiled is None:
        return None
    optimizer = compiled.optimizer
    config = _object_config(optimizer, _OPTIMIZERS, "optimizer", where)
    rate = optimizer._learning_rate
    if isinstance(rate, schedules.LearningRateSchedule):
        config["config"]["learning_rate"] = _object_config(rate, _SCHEDULES, "learning-rate schedule", where)
    elif callable(rate):
        raise SavingError(f"{where}: the optimizer's learning rate is a function, which a data-only file "
                          f"cannot hold; use a number or a schedule")
    return {"optimizer": config, "loss": _structure(compiled.loss, lambda l: _loss_config(l, where)),
            "loss_weights": compiled.loss_weights,
            "metrics": _structure(compiled.metric_ids, lambda m: _metric_config(m, where)),
            "weighted_metrics": _structure(compiled.weighted_metric_ids, lambda m: _metric_config(m, where))}


def _structure(value, convert):
    """``value`` (one item, or a list or dict of items or of lists of items, as compile takes
    losses and metrics per output) with each item converted; None stays None."""
    if isinstance(value, dict):
        return {"__per_output__": {str(k): _structure(v, convert) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return [_structure(v, convert) for v in value]
    return None if value is None else convert(value)


def _read_structure(value, convert, where):
    if isinstance(value, dict) and set(value) == {"__per_output__"}:
        if not isinstance(value["__per_output__"], dict):
            raise SavingError(f"{where}: expected a dict of entries per output, found {value!r:.200}")
        return {k: _read_structure(v, convert, where) for k, v in value["__per_output__"].items()}
    if isinstance(value, list):
        return [_read_structure(v, convert, where) for v in value]
    return None if value is None else convert(value)


def _loss_config(loss, where):
    if isinstance(loss, losses.LossFunctionWrapper) and type(loss) is losses.LossFunctionWrapper:
        if _REGISTERED.get(loss.fn.__name__) is not loss.fn:
            raise SavingError(f"{where}: the loss function {loss.fn.__name__} is not registered; call "
                              f"chainrule.saving.register({loss.fn.__name__})")
        return {"function": loss.fn.__name__}
    config = _object_config(loss, _LOSSES, "loss", where)
    config["config"] = {"name": config["config"]["name"], "reduction": config["config"]["reduction"],
                        **_loss_options(loss)}
    return config


def _loss_options(loss):
    return dict(getattr(loss, "kwargs", {}))


def _metric_config(metric, where):
    if isinstance(metric, str):
        return metric
    if callable(metric) and not isinstance(metric, metrics.Metric):
        if _REGISTERED.get(metric.__name__) is metric:
            return {"function": metric.__name__}
    elif _METRICS.get(type(metric).__name__) is type(metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    raise SavingError(f"{where}: the metric {metric!r} cannot be saved; pass metrics by name, as "
                      f"chainrule metric classes, or register the function")


def weight_keys(weights):
    """The names the file gives ``weights``: ``weights/<layer>/<weight>``, numbered (``#1``)
    where two layers in nested models share a name, so no array overwrites another."""
    keys, seen = [], set()
    for w in weights:
        key = f"weights/{w.path}"
        if key in seen:
            count = 1
            while f"{key}#{count}" in seen:
                count += 1
            key = f"{key}#{count}"
        seen.add(key)
        keys.append(key)
    return keys


def save_model(model, filepath, extra=None):
    """Writes ``model`` (architecture, weights, compile settings, optimizer state, the random
    generator's state) to ``filepath``, atomically.

    Args:
        extra: more plain values for the header (checkpoints record their epoch here).

    Raises:
        SavingError: for a model part that has no data-only description (a custom activation
            function, an unregistered layer class...), before anything is written.
    """
    where = f"save {filepath}"
    header = {"kind": "model", "model": serialize_model(model, where),
              "compile": _compile_config(model.compiled, where),
              "random_state": _backend.get_rng_state(), **(extra or {})}
    arrays = dict(zip(weight_keys(model.weights), (w.data for w in model.weights)))
    optimizer = model.optimizer
    if optimizer is not None and optimizer._variables is not None:
        arrays["optimizer/iterations"] = _backend.numpy.asarray(optimizer.iterations, dtype="int64")
        keys = dict(zip(map(id, model.weights), weight_keys(model.weights)))
        header["optimizer_variables"] = [keys[id(v)][len("weights/"):] for v in optimizer._variables]
        for slot, values in sorted(optimizer._slots.items()):
            for variable, value in zip(optimizer._variables, values):
                arrays[f"optimizer/{slot}/{keys[id(variable)][len('weights/'):]}"] = value
    write_file(filepath, header, arrays)


def save_weights(model, filepath):
    """Writes the weights of ``model`` alone."""
    write_file(filepath, {"kind": "weights"},
               dict(zip(weight_keys(model.weights), (w.data for w in model.weights))))


# --- reading ------------------------------------------------------------------------------


def _lookup(name, table, kind, where, custom_objects):
    if not isinstance(name, str):
        raise SavingError(f"{where}: expected a {kind} class name, found {name!r}")
    for source in (custom_objects or {}, _REGISTERED, table):
        if name in source:
            return source[name]
    raise SavingError(f"{where}: unknown {kind} {name!r}; it is neither chainrule's nor registered "
                      f"(pass it in custom_objects or call chainrule.saving.register)")


def registered_function(name, custom_objects=None):
    """The function registered (or in ``custom_objects``) as ``name`` when that is not one of
    chainrule's activation names; else None (a user's layer may take other strings)."""
    if not isinstance(name, str) or name in activations.ALL:
        return None
    for source in (custom_objects or {}, _REGISTERED):
        found = source.get(name)
        if found is not None:
            return found if callable(found) and not isinstance(found, type) else None
    return None


def _construct(cls, config, where):
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SavingError(f"{where}: expected a configuration object, found {config!r}")
    try:
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    except SavingError:
        raise
    except Exception as error:  # the constructor's own checks: bad values, unknown arguments
        raise SavingError(f"{where}: {cls.__name__} refused its configuration: {_describe(error)}") from None


def _describe(error):
    """An exception as an error message quotes it: a constructor's ValueError or TypeError by its
    text, anything else (a KeyError in a user's layer) with its type, which its text may not say."""
    text = str(error)[:300]
    return text if isinstance(error, (ValueError, TypeError)) else f"{type(error).__name__}: {text}"


def _read_shape(value, where):
    """A model's input shape from the file: None, or a list of None (an unknown size) and
    positive ints. An axis of size 0 is refused: every sample would be empty, and a layer's
    weights on an empty axis have no values, so the weight budget would not bound the outputs
    that layer's configuration sizes (a Dense layer's units)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(
            d is None or (type(d) is int and 0 < d < 2**63) for d in value):
        empty = "; an axis of size 0 would make every sample empty" if isinstance(value, list) and 0 in value else ""
        raise SavingError(f"{where}: expected None or a list of None and positive ints (the batch axis "
                          f"first), found {value!r:.200}{empty}")
    return value


def _read_random_state(state, where):
    """``state`` if chainrule's generator can take it: the form of its own state (the same keys,
    a non-negative int wherever it has one), accepted by a scratch generator of the same kind;
    else a SavingError. Nothing is set here."""
    current = _backend.get_rng_state()

    def same_form(value, reference):
        if isinstance(reference, dict):
            return (isinstance(value, dict) and value.keys() == reference.keys()
                    and all(same_form(value[key], reference[key]) for key in reference))
        if isinstance(reference, str):
            return value == reference
        return type(value) is int and 0 <= value < 2**128

    problem = None if same_form(state, current) else "it does not have the generator's form"
    if problem is None:
        try:
            type(_backend.rng().bit_generator)().state = state
        except (ValueError, TypeError, OverflowError) as error:
            problem = str(error)
    if problem:
        raise SavingError(f"{where}: the random state {state!r:.200} is not a state of chainrule's "
                          f"{current.get('bit_generator')} generator ({problem})")
    return state


def _read_initializers(config, where, custom_objects):
    for key, value in list(config.items()):
        if key.endswith("_initializer") and isinstance(value, dict):
            cls = _lookup(value.get("class_name"), _INITIALIZERS, "initializer", where, custom_objects)
            config[key] = _construct(cls, value.get("config", {}), f"{where}, {key}")
    return config


def _read_layer(item, where, custom_objects):
    if not isinstance(item, dict) or set(item) - {"name", "inbound_nodes", "build_input_shape"} != {"class_name", "config"}:
        raise SavingError(f"{where}: expected a layer as {{class_name, config}}, found {item!r:.200}")
    cls = _lookup(item["class_name"], _LAYERS, "layer", where, custom_objects)
    if not (isinstance(cls, type) and issubclass(cls, layers.Layer)):
        raise SavingError(f"{where}: {item['class_name']!r} is not a layer class")
    if issubclass(cls, Model):
        return deserialize_model({k: v for k, v in item.items() if k not in ("name", "inbound_nodes")},
                                 where, custom_objects)
    config = dict(item["config"]) if isinstance(item["config"], dict) else item["config"]
    if isinstance(config, dict):
        config = _read_initializers(config, where, custom_objects)
        for key in ("activation", "recurrent_activation"):
            value = config.get(key)
            function = registered_function(value, custom_objects)
            if function is not None:  # a user's activation function, by the name it was registered as
                config[key] = function
            elif isinstance(value, str) and value not in activations.ALL and cls.__module__.startswith("chainrule."):
                raise SavingError(f"{where}: unknown activation function {value!r:.80}; it is neither chainrule's "
                                  f"nor registered (pass it in custom_objects or call chainrule.saving.register)")
        if cls is layers.Bidirectional or cls is layers.TimeDistributed:
            config["layer"] = _read_layer(config.get("layer"), f"{where}, the wrapped layer", custom_objects)
        if cls is layers.Bidirectional and config.get("backward_layer") is not None:
            config["backward_layer"] = _read_layer(config["backward_layer"], f"{where}, the backward layer",
                                                   custom_objects)
        if cls is layers.RNN:
            config["cell"] = _read_layer(config.get("cell"), f"{where}, the cell", custom_objects)
        if cls is layers.StackedRNNCells:
            cells = config.get("cells")
            if not isinstance(cells, list):
                raise SavingError(f"{where}: expected a list of cells, found {cells!r:.200}")
            config["cells"] = [_read_layer(cell, f"{where}, a cell", custom_objects) for cell in cells]
        if cls is layers.Lambda:
            # a Lambda runs code: only a function the caller registered or passed can be it
            for key in ("function", "output_shape", "mask"):
                if isinstance(config.get(key), str):
                    config[key] = _lookup(config[key], {}, f"Lambda {key} function", where, custom_objects)
            if not callable(config.get("function")):
                raise SavingError(f"{where}: a Lambda layer needs the name of a registered function, found "
                                  f"{config.get('function')!r:.200}")
    return _construct(cls, config, f"{where} ({item['class_name']})")


def deserialize_model(item, where, custom_objects=None):
    """A model from :func:`serialize_model`'s description: Sequential, functional, or a
    subclassed model whose class is registered (or in ``custom_objects``) and which is then
    built for the input shape it recorded."""
    if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
        raise SavingError(f"{where}: expected a model as {{class_name, config}}, found {item!r:.200}")
    class_name = item.get("class_name")
    if class_name == "Sequential":
        return model_from_config(item, where, custom_objects)
    if class_name in ("Functional", "Model"):
        return _read_functional(item["config"], where, custom_objects)
    cls = _lookup(class_name, {}, "model class", where, custom_objects)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise SavingError(f"{where}: {class_name!r} is not a Model class")
    if "layers" in item["config"] and "input_layers" in item["config"]:
        return _read_functional(item["config"], f"{where} ({class_name})", custom_objects, cls)
    model = _construct(cls, item["config"], f"{where} ({class_name})")
    shape = item.get("build_input_shape")
    if shape is not None and not model.built:
        shape = _read_shapes(shape, f"{where}: the model's build_input_shape")
        _fit(model.build, shape, f"{where}: building {class_name} for {shape}")
    return model


def _read_shapes(value, where):
    """One shape, or a list or dict of them (a model with several inputs)."""
    if isinstance(value, dict):
        return {str(k): _read_shape(v, where) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return [_read_shape(v, where) for v in value]
    return _read_shape(value, where)


def _reference(value, where):
    if (not isinstance(value, list) or len(value) != 3 or not isinstance(value[0], str)
            or not all(type(i) is int and 0 <= i < 2**31 for i in value[1:])):
        raise SavingError(f"{where}: expected a tensor reference [layer name, node index, tensor index], "
                          f"found {value!r:.200}")
    return tuple(value)


MAX_DEPTH = 32  # how deeply a node's arguments may nest (lists in lists...)


def _references_in(value, where, found, depth):
    """Collects the tensor references inside a node's arguments (to order the nodes)."""
    if depth > MAX_DEPTH:
        raise SavingError(f"{where}: the arguments nest deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if "__keras_tensor__" in value:
            found.append(_reference(value["__keras_tensor__"], where))
        else:
            for item in value.values():
                _references_in(item, where, found, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _references_in(item, where, found, depth + 1)
    return found


def _read_argument(value, where, tensors):
    """A node's argument from its plain description (``_references_in`` checked its depth)."""
    if isinstance(value, dict):
        if set(value) == {"__keras_tensor__"}:
            key = _reference(value["__keras_tensor__"], where)
            if key not in tensors:
                raise SavingError(f"{where}: refers to tensor {list(key)}, which its node does not make")
            return tensors[key]
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(_read_argument(v, where, tensors) for v in value["__tuple__"])
        if set(value) == {"__slice__"} and isinstance(value["__slice__"], list) and len(value["__slice__"]) == 3:
            parts = [_read_argument(v, where, tensors) for v in value["__slice__"]]
            if not all(v is None or type(v) is int for v in parts):
                raise SavingError(f"{where}: a slice of other than ints, found {value!r:.200}")
            return slice(*parts)
        if value == {"__ellipsis__": True}:
            return Ellipsis
        if any(k.startswith("__") for k in value):
            raise SavingError(f"{where}: unknown tagged value {value!r:.200}")
        return {k: _read_argument(v, where, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_read_argument(v, where, tensors) for v in value]
    return value


def _read_functional(config, where, custom_objects, cls=Functional):
    """A functional model from :func:`functional_config`'s description.

    The layers are made first; then each node is called once every node it refers to has been
    (Kahn's order: linear in the nodes, whatever order the file lists them in). A reference to a
    node that does not exist, or a cycle, leaves nodes uncalled: a SavingError. Every layer's
    own checks run as it is called on its symbolic inputs."""
    entries, name, trainable = _model_fields(config, where)
    made, pending = {}, []  # layer name -> layer; (layer, node number, args, kwargs, references)
    tensors = {}  # (layer name, node number, tensor index) -> KerasTensor
    for i, entry in enumerate(entries):
        place = f"{where}, layer {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SavingError(f"{place}: expected a layer with a name, found {entry!r:.200}")
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise SavingError(f"{place}: inbound_nodes must be a list")
        layer = _read_layer(entry, f"{place} ({entry['name']!r})", custom_objects)
        layer_config = entry.get("config")
        if isinstance(layer_config, dict) and "name" not in layer_config and not layer.built:
            layer.name = entry["name"]  # a user's get_config without the name: Keras takes the entry's
        if entry["name"] in made or layer.name != entry["name"]:
            raise SavingError(f"{place}: the layer name {entry['name']!r} is repeated or is not its layer's")
        made[layer.name] = layer
        if isinstance(layer, layers.InputLayer):
            tensors[(layer.name, 0, 0)] = layer.output
        for number, node in enumerate(nodes):
            node_place = f"{place} ({layer.name}), node {number}"
            if (not isinstance(node, dict) or set(node) != {"args", "kwargs"} or not isinstance(node["args"], list)
                    or not isinstance(node["kwargs"], dict)):
                raise SavingError(f"{node_place}: expected {{args, kwargs}}, found {node!r:.200}")
            references = _references_in([node["args"], node["kwargs"]], node_place, [], 0)
            if not references:
                # a node is a call on the graph's tensors; one without any would run the layer on
                # the file's own values while loading
                raise SavingError(f"{node_place}: a node must take at least one tensor of the graph")
            pending.append((layer, number + (1 if isinstance(layer, layers.InputLayer) else 0),
                            node, references, node_place))
    waiting = {}  # (layer name, node number) -> indices of pending nodes waiting for it
    missing = []
    for index, (_, _, _, references, _) in enumerate(pending):
        needs = {(r[0], r[1]) for r in references if r not in tensors}
        missing.append(len(needs))
        for need in needs:
            waiting.setdefault(need, []).append(index)
    # the nodes run in the file's order whenever they can, so a shared layer's nodes keep
    # their numbers (its .input and .output stay its first call's)
    ready = [index for index, count in enumerate(missing) if count == 0]
    heapq.heapify(ready)
    called = 0
    while ready:
        index = heapq.heappop(ready)
        layer, number, node, references, node_place = pending[index]
        args = [_read_argument(a, node_place, tensors) for a in node["args"]]
        kwargs = {k: _read_argument(v, node_place, tensors) for k, v in node["kwargs"].items()}
        if not args:
            raise SavingError(f"{node_place}: a node needs its input")
        try:
            outputs = layer(*args, **kwargs)
        except SavingError:
            raise
        except Exception as error:
            raise SavingError(f"{node_place}: calling the layer on its inputs failed: {_describe(error)}") from None
        for t, x in enumerate(_flat_tensors(outputs)):
            tensors[(layer.name, number, t)] = x
        called += 1
        for waiter in waiting.pop((layer.name, number), []):
            missing[waiter] -= 1
            if missing[waiter] == 0:
                heapq.heappush(ready, waiter)
    if called != len(pending):
        stuck = next(pending[i][4] for i, count in enumerate(missing) if count)
        raise SavingError(f"{where}: {len(pending) - called} nodes refer to tensors no node makes (or "
                          f"to each other in a cycle), the first at {stuck}")

    def resolve(value, what):
        if isinstance(value, dict):
            return {str(k): resolve(v, what) for k, v in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], list):
            return [resolve(v, what) for v in value]
        key = _reference(value, f"{where}: {what}")
        if key not in tensors:
            raise SavingError(f"{where}: {what} refers to {list(key)}, which no node makes")
        return tensors[key]

    inputs = resolve(config.get("input_layers"), "input_layers")
    outputs = resolve(config.get("output_layers"), "output_layers")
    try:
        model = cls(inputs, outputs, name=name)
    except SavingError:
        raise
    except Exception as error:
        raise SavingError(f"{where}: {cls.__name__} refused the graph: {_describe(error)}") from None
    model.trainable = trainable
    return model


def functional_from_config(config, cls=Functional, custom_objects=None):
    """``cls.from_config`` for a functional model's :func:`functional_config`."""
    return _read_functional(config, f"{cls.__name__}.from_config", custom_objects, cls)


def _flat_tensors(outputs):
    from chainrule.utils import tree

    return tree.flatten(outputs)


def model_from_json(json_string, custom_objects=None):
    """A model from :meth:`Model.to_json`'s string (the architecture; the weights are new)."""
    where = "model_from_json"
    if not isinstance(json_string, str) or len(json_string) > MAX_JSON:
        raise SavingError(f"{where}: expected a JSON string of at most {MAX_JSON} characters")
    try:
        item = json.loads(json_string)
    except ValueError as error:
        raise SavingError(f"{where}: not valid JSON ({error})") from None
    return deserialize_model(item, where, custom_objects)


def _model_fields(config, where):
    """A model description's layers (a list), name (a string or None) and trainable flag."""
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise SavingError(f"{where}: the model's 'layers' must be a list")
    name, trainable = config.get("name"), config.get("trainable", True)
    if name is not None and not isinstance(name, str):
        raise SavingError(f"{where}: the model's name must be a string, found {name!r:.200}")
    if not isinstance(trainable, bool):
        raise SavingError(f"{where}: the model's 'trainable' must be true or false, found {trainable!r:.200}")
    return entries, name, trainable


def model_from_config(item, where, custom_objects):
    """A Sequential model from ``{"class_name": "Sequential", "config": ...}``, every layer class
    resolved through the registries. Each layer is added as it is read, so the work is linear
    in the number of layers; an error names the layer that does not fit."""
    if not isinstance(item, dict) or item.get("class_name") != "Sequential" or not isinstance(item.get("config"), dict):
        raise SavingError(f"{where}: expected a Sequential model description")
    config = item["config"]
    entries, name, trainable = _model_fields(config, where)
    declared = _read_shape(config.get("batch_input_shape"), f"{where}: the model's batch_input_shape")
    built = _read_shape(config.get("built_input_shape"), f"{where}: the model's built_input_shape")
    try:
        model = Sequential(name=name)
        if declared is not None:
            model.add(layers.InputLayer(batch_shape=declared, dtype=config.get("input_dtype")))
        elif config.get("input_dtype") is not None:
            raise ValueError(f"an input_dtype ({config['input_dtype']!r:.80}) needs a batch_input_shape")
    except ValueError as error:
        raise SavingError(f"{where}: {error}") from None
    for i, entry in enumerate(entries):
        layer = _read_layer(entry, f"{where}, layer {i}", custom_objects)
        _fit(model.add, layer, f"{where}, layer {i} ({type(layer).__name__})")
    if built is not None and not model.built:
        _fit(model.build, built, f"{where}: the model's built_input_shape {built}")
    model.trainable = trainable
    return model


def _fit(function, argument, where):
    """``function(argument)`` (adding or building layers), any refusal a SavingError naming where."""
    try:
        function(argument)
    except SavingError:
        raise
    except Exception as error:  # a layer's own checks, or a user layer's build failing
        raise SavingError(f"{where}: does not fit the model: {_describe(error)}") from None


def _assign(variables, arrays, prefix, where):
    """Copies the file's weights into ``variables``, in order (the order of ``model.weights``, as
    Keras matches them), after checking the count and every shape: nothing changes unless
    everything fits. Errors name the model's layer and weight and both shapes."""
    found = [(name, array) for name, array in arrays.items() if name.startswith(prefix)]
    if len(found) != len(variables):
        raise SavingError(f"{where}: the file holds {len(found)} weights "
                          f"({', '.join(n[len(prefix):] for n, _ in found) or 'none'}), the model "
                          f"{len(variables)} ({', '.join(v.path for v in variables) or 'none'})")
    for (name, array), variable in zip(found, variables):
        if array.shape != variable.shape:
            layer = variable.path.split("/")[0]
            raise SavingError(f"{where}: layer {layer}, weight {variable.path}: the model's shape is "
                              f"{variable.shape}, the file's ({name[len(prefix):]}) {array.shape}")
    for (_, array), variable in zip(found, variables):
        variable.data[...] = array
    autograd.mark_changed(*(variable.data for variable in variables))  # for backward's check


def _read_compile(config, model, arrays, header, where, custom_objects):
    if not isinstance(config, dict):
        raise SavingError(f"{where}: the compile settings must be an object")
    optimizer_item = config.get("optimizer")
    if not isinstance(optimizer_item, dict) or not isinstance(optimizer_item.get("config", {}), dict):
        raise SavingError(f"{where}: expected the optimizer as {{class_name, config}}, found {optimizer_item!r:.200}")
    cls = _lookup(optimizer_item.get("class_name"), _OPTIMIZERS, "optimizer", where, custom_objects)
    options = dict(optimizer_item.get("config", {}))
    for key in ("metrics", "weighted_metrics"):
        if not isinstance(config.get(key, []), (list, dict, type(None))):
            raise SavingError(f"{where}: the compile settings' {key} must be a list, found {config[key]!r:.200}")
    loss_weights = config.get("loss_weights")
    if loss_weights is not None and not (
            isinstance(loss_weights, (list, dict)) and all(
                isinstance(w, (int, float)) and not isinstance(w, bool)
                for w in (loss_weights.values() if isinstance(loss_weights, dict) else loss_weights))):
        raise SavingError(f"{where}: loss_weights must be a list or dict of numbers, found {loss_weights!r:.200}")
    rate = options.get("learning_rate")
    if isinstance(rate, dict):
        schedule = _lookup(rate.get("class_name"), _SCHEDULES, "schedule", where, custom_objects)
        options["learning_rate"] = _construct(schedule, rate.get("config", {}), f"{where}, learning rate")
    optimizer = _construct(cls, options, f"{where}, optimizer")
    def loss_entry(entry):
        if isinstance(entry, str):
            return entry  # a name, as Keras's files give it; Compiled resolves it or refuses
        if isinstance(entry, dict) and "function" in entry:
            return _lookup(entry["function"], {}, "loss function", where, custom_objects)
        if isinstance(entry, dict):
            return _construct(_lookup(entry.get("class_name"), _LOSSES, "loss", where, custom_objects),
                              entry.get("config", {}), f"{where}, loss")
        raise SavingError(f"{where}: unexpected loss description {entry!r:.200}")

    loss = _read_structure(config.get("loss"), loss_entry, where)

    def metric(entry):
        if isinstance(entry, str):
            return entry
        if isinstance(entry, dict) and "function" in entry:
            return _lookup(entry["function"], {}, "metric function", where, custom_objects)
        if isinstance(entry, dict):
            metric_class = _lookup(entry.get("class_name"), _METRICS, "metric", where, custom_objects)
            return _construct(metric_class, entry.get("config"), f"{where}, metric")
        raise SavingError(f"{where}: unexpected metric description {entry!r}")

    try:
        compiled = Compiled(optimizer, loss, _read_structure(config.get("metrics"), metric, where),
                            _read_structure(config.get("weighted_metrics"), metric, where), loss_weights)
    except ValueError as error:
        raise SavingError(f"{where}: the compile settings are invalid: {error}") from None
    names = header.get("optimizer_variables")
    if names is not None:
        # the file's weights are the model's, position by position (load checked it): the
        # optimizer's variables are named as the file named them, whatever the model's layers
        # are called now (a subclassed model's automatic names differ from one process to another)
        stored_names = [name[len("weights/"):] for name in arrays if name.startswith("weights/")]
        trainable = {id(v) for v in model.trainable_weights}
        variables = {name: v for name, v in zip(stored_names, model.weights) if id(v) in trainable}
        if (not isinstance(names, list) or not all(isinstance(n, str) and n in variables for n in names)
                or len(set(names)) != len(names)):
            raise SavingError(f"{where}: the optimizer's variables {names!r:.200} are not the model's "
                              f"trainable weights, each once")
        optimizer.build([variables[n] for n in names])
        for slot, values in optimizer._slots.items():
            for name, variable, value in zip(names, optimizer._variables, values):
                stored = arrays.get(f"optimizer/{slot}/{name}")
                if stored is None or stored.shape != value.shape:
                    raise SavingError(f"{where}: optimizer slot {slot} of {variable.path} is missing or "
                                      f"has the wrong shape")
                value[...] = stored
        iterations = arrays.get("optimizer/iterations")
        if iterations is None or iterations.shape != () or iterations.dtype.kind != "i" or int(iterations) < 0:
            raise SavingError(f"{where}: the optimizer's step count is missing or invalid")
        optimizer.iterations = int(iterations)
    return compiled


def load_model(filepath, custom_objects=None, compile=True, restore_random_state=True):
    """Reads a model written by :func:`save_model`.

    Args:
        filepath: the file.
        custom_objects: ``{name: class or function}`` admitting user-defined layers, losses or
            metrics by the names the file uses.
        compile: restore the compile settings and optimizer state (else the model is returned
            uncompiled).
        restore_random_state: put chainrule's random generator back where it was when the file
            was saved, so that a resumed ``fit`` shuffles and drops out exactly as an
            uninterrupted one would.

    Raises:
        SavingError: for any file that is not a valid, complete model file; the random generator
            is then left as it was.
    """
    where = f"load_model {filepath}"
    header, arrays = read_file(filepath)
    return _load(header, arrays, where, custom_objects, compile, restore_random_state)


def _load(header, arrays, where, custom_objects, compile, restore_random_state):
    """The model a checked file describes, and the file's random state set if asked. On any
    failure the random generator is put back (building layers draws initial weights) and the
    error is a SavingError."""
    previous = _backend.get_rng_state()
    try:
        state = header.get("random_state")
        if state is not None:
            _read_random_state(state, where)
        model = _build(header, arrays, where, custom_objects, compile)
        if restore_random_state and state is not None:
            _backend.set_rng_state(state)
        return model
    except BaseException as error:
        _backend.set_rng_state(previous)
        if isinstance(error, SavingError) or not isinstance(error, Exception):
            raise
        # NOTE: every value is checked where it is read, so this is a second line only: a check
        # missed is still reported as a malformed file, never as a bare KeyError.
        raise SavingError(f"{where}: the model description is malformed ({_describe(error)})") from None


def _build(header, arrays, where, custom_objects, compile):
    if header.get("kind") != "model":
        raise SavingError(f"{where}: the file holds {header.get('kind')!r}, not a model "
                          f"(use load_weights for a weights file)")
    stored = sum(a.size for name, a in arrays.items() if name.startswith("weights/"))
    # what the file's shapes may ask of memory while its graph is rebuilt: no more values per
    # sample than it holds weights (and at least a million), see weight_budget
    with layers.layer.weight_budget(stored, sample_limit=max(2**20, stored)):
        model = deserialize_model(header.get("model"), where, custom_objects)
    _assign(model.weights, arrays, "weights/", where)
    if compile and header.get("compile") is not None:
        model.compiled = _read_compile(header["compile"], model, arrays, header, where, custom_objects)
    return model


def load_weights(model, filepath):
    """Reads weights (from :func:`save_weights` or :func:`save_model`) into ``model``."""
    where = f"load_weights {filepath}"
    header, arrays = read_file(filepath)
    if header.get("kind") not in ("model", "weights"):
        raise SavingError(f"{where}: the file holds {header.get('kind')!r}, not weights")
    if not model.built:
        raise SavingError(f"{where}: the model is not built, so it has no weights to load into; "
                          f"build it (or call it on data) first")
    _assign(model.weights, arrays, "weights/", where)


def restore_training_state(model, filepath, require_epoch=False):
    """Puts a saved model's weights, optimizer state and random state back into ``model`` itself
    (which must have the same architecture and be compiled), for resuming an interrupted fit.
    Everything in the file is checked before anything in ``model`` changes.

    Args:
        require_epoch: refuse a file that records no epoch (BackupAndRestore's files all do).

    Returns:
        The header, whose ``epoch`` (if any, a non-negative int) says which epoch the file was
        written after.

    Raises:
        SavingError: for a file that is not a valid model file of this architecture.
    """
    where = f"restore {filepath}"
    header, arrays = read_file(filepath)
    if header.get("kind") != "model":
        raise SavingError(f"{where}: the file holds {header.get('kind')!r}, not a model")
    epoch = header.get("epoch")
    if (require_epoch or "epoch" in header) and (type(epoch) is not int or epoch < 0):
        raise SavingError(f"{where}: expected the epoch the file was written after, a non-negative "
                          f"int, found {epoch!r:.200}")
    if header.get("compile") is None or model.compiled is None:
        raise SavingError(f"{where}: resuming needs a compiled model and a file with compile settings")
    states = header.get("process_random_states")  # a data-parallel backup's, one per process
    if states is not None:
        if not isinstance(states, list) or not states:
            raise SavingError(f"{where}: expected process_random_states to be a list of random "
                              f"states, found {states!r:.200}")
        for rank, state in enumerate(states):
            _read_random_state(state, f"{where}: process_random_states[{rank}]")
    previous = _backend.get_rng_state()
    saved = _load(header, arrays, where, None, compile=True, restore_random_state=True)
    compiled = saved.compiled
    if [w.shape for w in saved.weights] != [w.shape for w in model.weights]:
        _backend.set_rng_state(previous)
        raise SavingError(f"{where}: the file's model does not have this model's weights")
    # everything checked: now copy into the running model and its optimizer
    for target, source in zip(model.weights, saved.weights):
        target.data[...] = source.data
    autograd.mark_changed(*(target.data for target in model.weights))
    optimizer, restored = model.compiled.optimizer, compiled.optimizer
    if restored._variables is not None:
        # the file's model and this one have the same weights in the same order
        position = {id(v): i for i, v in enumerate(saved.trainable_weights)}
        ours = model.trainable_weights
        optimizer.build([ours[position[id(v)]] for v in restored._variables])
        for slot, values in restored._slots.items():
            optimizer._slots[slot] = [value.copy() for value in values]
        optimizer.iterations = restored.iterations
    optimizer.learning_rate = restored._learning_rate
    return header
