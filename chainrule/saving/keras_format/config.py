"""Architecture descriptions between Keras's ``config.json`` and chainrule's own.

:func:`from_keras` turns the JSON a Keras 3 ``.keras`` archive holds (or the ``model_config`` of a
tf.keras 2 / Keras 3 legacy ``.h5`` file) into the description
:func:`chainrule.saving.serialization.deserialize_model` reads; :func:`to_keras` goes the other
way, to what ``keras.saving.load_model`` (Keras 3.15) reads. Both are pure data translations:
nothing is built, imported or run here.

Reading resolves every class and function by name only, through chainrule's registries (its
layers, initializers, regularizers, constraints, activations, ``chainrule.ops``), the registered
objects and the caller's ``custom_objects``. Keras's ``"module"`` strings are never imported: the
one use made of them is to tell a ``keras.ops`` operation (``"Add"`` in ``keras.src.ops.numpy``)
from the layer of the same name. Everything the file needs and chainrule lacks is collected over
the whole file and reported in one SavingError before anything is built.

What maps (Keras 3.15 class -> chainrule), layer by layer:

==========================================================  =========================================
Keras layers                                                 mapping
==========================================================  =========================================
Dense, EinsumDense, Embedding                                same class; ``quantization_config``,
                                                             ``lora_rank``/``lora_alpha`` only at their
                                                             defaults (no quantized or LoRA layers)
Conv1D/2D/3D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D,     same class, same arguments
SeparableConv1D/2D
MaxPooling1D/2D/3D, AveragePooling1D/2D/3D,                  same class
GlobalMax/AveragePooling1D/2D/3D
BatchNormalization, LayerNormalization, GroupNormalization,  same class (tf.keras 2's ``renorm``,
UnitNormalization                                            ``fused``, ``virtual_batch_size`` only at
                                                             their defaults)
Dropout, SpatialDropout1D/2D/3D, GaussianDropout,            same class
GaussianNoise, AlphaDropout, ActivityRegularization
Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax             same class (activations by name)
Add, Subtract, Multiply, Average, Maximum, Minimum,          same class
Concatenate, Dot
Flatten, Reshape, Permute, RepeatVector, Cropping1D/2D/3D,   same class
UpSampling1D/2D/3D, ZeroPadding1D/2D/3D
SimpleRNN, LSTM, GRU, RNN, SimpleRNNCell, LSTMCell, GRUCell, same class, cells and wrapped layers
StackedRNNCells, Bidirectional, TimeDistributed              mapped recursively (Bidirectional's
                                                             ``backward_layer`` too); tf.keras 2's
                                                             ``implementation``/``time_major`` dropped
Attention, AdditiveAttention, MultiHeadAttention             same class
InputLayer, Masking, Identity, Rescaling, Normalization,     same class (no sparse, ragged or optional
CategoryEncoding                                             inputs)
Lambda                                                       only a function registered with chainrule
                                                             (or in custom_objects), by name; Keras's
                                                             serialized code (``__lambda__``) never
Sequential, Functional, nested models, registered            same structure; Keras's InputLayer first
subclassed models                                            in a Sequential becomes its input shape
``keras.ops`` operations in a functional graph (``Add``,     chainrule's OpLayer running the
``GetItem``, ``NotEqual``...)                                ``chainrule.ops`` function of that name
==========================================================  =========================================

What does not map, and why: every other Keras layer (preprocessing layers but Rescaling,
Normalization and CategoryEncoding, ConvLSTM, the image augmentation layers, TorchModuleWrapper,
JaxLayer...): chainrule has no such class. Dtype policies other than float32/float64
(``mixed_float16``, ``bfloat16``, quantized policies): chainrule computes in float32 or float64
only. Quantized or LoRA-enabled layers: no such weights in chainrule. Lambda layers holding code:
chainrule never runs code from a file (Keras's own ``safe_mode``, CVE-2024-3660). An operation
node whose arguments hold arrays (``__numpy__``, ``__tensor__``): a file's values are never fed
to a graph op.
"""

import inspect
import re

from chainrule import activations, constraints, layers, regularizers
from chainrule.saving import serialization
from chainrule.saving.format import SavingError

MAX_NESTING = 32  # models in models, wrapped layers, nested argument lists: deeper is malformed
_LIST_LIMIT = 20  # problems listed in full in the one error

# Keras-only configuration keys and the value each holds when unused: a key at this value is
# dropped, any other value is something chainrule cannot do. Keras 3.15's get_config() of each
# layer chainrule also has (keras/src/layers/...), and tf.keras 2.15's (legacy .h5 files).
_KERAS_DEFAULTS = {
    "quantization_config": (None,), "lora_rank": (None, 0), "lora_alpha": (None,),
    "gptq_unpacked_column_size": (None,), "autocast": (True,),
    "sparse": (None, False), "ragged": (None, False), "optional": (False,),
    # tf.keras 2
    "renorm": (False,), "renorm_clipping": (None,), "renorm_momentum": (0.99,), "fused": (None, True, False),
    "virtual_batch_size": (None,), "adjustment": (None,), "synchronized": (False,),
    "time_major": (False,), "noise_shape": (None,), "groups": (1,),
}
_ONLY_DEFAULT = {"sparse", "ragged", "optional"}  # taken by chainrule's InputLayer, at the default only
_ANY_VALUE = {
    # tf.keras 2's choice of kernel for the same math, and the shapes MultiHeadAttention was built for
    "implementation", "query_shape", "key_shape", "value_shape",
}
_INITIALIZER_DEFAULTS = {"input_axes": (None,), "output_axes": (None,)}  # Keras 3.15's VarianceScaling
_DTYPES = ("float32", "float64")
# the dtypes of NumPy's that Keras 3's inputs take too (keras/src/backend/common/dtypes.py)
_INTEGER_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
_KERAS_INPUT_DTYPES = _INTEGER_DTYPES | {"float16", "float32", "float64"}
_KERAS_TENSOR = "__keras_tensor__"


class _Reading:
    """What one from_keras call carries through the file: the caller's objects, the legacy flag,
    and the problems found so far (reported together at the end)."""

    def __init__(self, custom_objects, legacy):
        self.custom_objects = dict(custom_objects or {})
        self.legacy = legacy
        self.problems = []  # (place, layer, class name, key, value, why)

    def problem(self, place, layer, class_name, key, value, why):
        self.problems.append((place, layer, class_name, key, value, why))

    def lookup(self, names, table, with_key=False):
        """The first of ``names`` (a Keras ``registered_name`` "package>Name" also as "Name")
        in custom_objects, the registered objects or ``table``; None if none is. With
        ``with_key``, (the object, the name it was found under)."""
        candidates = []
        for name in names:
            if isinstance(name, str):
                candidates += [name, name.rpartition(">")[2]]
        for source in (self.custom_objects, serialization.get_custom_objects(), table):
            for name in candidates:
                if name in source:
                    return (source[name], name) if with_key else source[name]
        return (None, None) if with_key else None


def from_keras(item, where, custom_objects=None, legacy=False):
    """chainrule's description of the model Keras's ``item`` describes.

    Args:
        item: the parsed ``config.json`` of a ``.keras`` archive (``{"module", "class_name",
            "config", "registered_name", "build_config", ...}``), or with ``legacy`` the parsed
            ``model_config`` of a legacy ``.h5`` file.
        where: the file, for messages.
        custom_objects: ``{name: class or function}`` admitting the caller's own objects.
        legacy: read tf.keras 2's forms (node lists, ``batch_input_shape``) too.

    Returns:
        ``{"class_name", "config"}`` as :func:`serialization.serialize_model` writes it.

    Raises:
        SavingError: for a malformed description (naming the path), or, once for the whole file,
            listing every layer, argument, dtype policy or custom object chainrule lacks.
    """
    reading = _Reading(custom_objects, legacy)
    result = _model(item, where, reading, 0)
    if reading.problems:
        lines = [f"  - {place}: layer {layer!r} ({class_name})"
                 + (f", {key} = {_short(value)}" if key is not None else "") + f": {why}"
                 for place, layer, class_name, key, value, why in reading.problems[:_LIST_LIMIT]]
        more = len(reading.problems) - _LIST_LIMIT
        if more > 0:
            lines.append(f"  ... and {more} more")
        raise SavingError(f"{where}: the model needs {len(reading.problems)} thing(s) chainrule does not "
                          f"have; nothing was built:\n" + "\n".join(lines))
    return result


def _short(value):
    return f"{value!r:.120}"


def _malformed(place, expected, found):
    return SavingError(f"{place}: expected {expected}, found {_short(found)}")


def _entry(item, place, extra=()):
    """Checks a Keras object entry ``{"class_name", "config", ...}``; returns its parts."""
    allowed = {"module", "class_name", "config", "registered_name", "build_config", "compile_config",
               "shared_object_id", *extra}
    if not isinstance(item, dict) or not isinstance(item.get("class_name"), str) or not isinstance(
            item.get("config"), dict) or set(item) - allowed:
        raise _malformed(place, "an object {class_name, config, module, registered_name}", item)
    for key in ("module", "registered_name"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise _malformed(f"{place}, {key}", "a string or null", item[key])
    return item["class_name"], item["config"], item.get("registered_name"), item.get("module")


def _is_model_class(cls):
    return isinstance(cls, type) and issubclass(cls, serialization.Model)


def _model(item, place, reading, depth):
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: models and layers nest deeper than {MAX_NESTING} levels")
    class_name, config, registered_name, _ = _entry(item, place, ("name", "inbound_nodes", "build_input_shape"))
    if class_name == "Sequential":
        return _sequential(config, place, reading, depth, item)
    if class_name in ("Functional", "Model"):
        return {"class_name": "Functional", "config": _functional(config, place, reading, depth)}
    cls = reading.lookup([registered_name, class_name], {})
    if not _is_model_class(cls):
        reading.problem(place, config.get("name"), class_name, None, None,
                        "a model class that is neither chainrule's nor registered (pass it in "
                        "custom_objects or register it with chainrule.saving.register)")
        return {"class_name": class_name, "config": {}}
    name = cls.__name__
    if "layers" in config and "input_layers" in config:
        return {"class_name": name, "config": _functional(config, place, reading, depth)}
    result = {"class_name": name, "config": _plain_config(config, place, reading, class_name)}
    shape = _build_shape(item, place)
    if shape is not None:
        result["build_input_shape"] = shape
    return result


def _build_shape(item, place):
    build = item.get("build_config")
    if build is None:
        return item.get("build_input_shape")
    if not isinstance(build, dict):
        raise _malformed(f"{place}, build_config", "an object {input_shape}", build)
    return build.get("input_shape")


def _plain_config(config, place, reading, class_name):
    """A registered class's own configuration: its dtype policy by name, else as it is."""
    config = dict(config)
    if "dtype" in config:
        config["dtype"] = _dtype(config["dtype"], place, reading, config.get("name"), class_name)
    return config


def _dtype(value, place, reading, layer, class_name, input_layer=False):
    """A dtype or DTypePolicy description as the dtype name chainrule's layers take."""
    if isinstance(value, dict):
        inner = value.get("config")
        if value.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy", "Policy") or not isinstance(
                inner, dict) or not isinstance(inner.get("name"), str):
            reading.problem(place, layer, class_name, "dtype", value,
                            "a dtype policy chainrule does not have (it computes in float32 or float64)")
            return None
        value = inner["name"]
    if value is None:
        return None
    if not isinstance(value, str):
        raise _malformed(f"{place}, dtype", "a dtype name or policy", value)
    if not input_layer and value not in _DTYPES:
        reading.problem(place, layer, class_name, "dtype", value,
                        "a dtype policy chainrule does not have (it computes in float32 or float64)")
    return value


def _sequential(config, place, reading, depth, item):
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise _malformed(f"{place}, layers", "a list of layers", entries)
    result = {"name": _name(config.get("name"), place), "trainable": _flag(config, "trainable", place),
              "batch_input_shape": None, "built_input_shape": None, "layers": []}
    if "dtype" in config:
        _dtype(config["dtype"], place, reading, config.get("name"), "Sequential")
    for i, entry in enumerate(entries):
        where = f"{place}, layer {i}"
        if i == 0 and isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            # chainrule's Sequential records its Input as a shape and an integer or boolean dtype
            # (token ids); a floating input is cast to the first layer's dtype, as before
            input_config = _layer(entry, where, reading, depth + 1)["config"]
            result["batch_input_shape"] = input_config.get("batch_shape")
            if input_config.get("dtype") in _INTEGER_DTYPES:
                result["input_dtype"] = input_config["dtype"]
            continue
        result["layers"].append(_layer(entry, where, reading, depth + 1))
    result["built_input_shape"] = config.get("build_input_shape", _build_shape(item, place))
    return {"class_name": "Sequential", "config": result}


def _name(value, place):
    if value is not None and not isinstance(value, str):
        raise _malformed(f"{place}, name", "a string", value)
    return value


def _flag(config, key, place):
    value = config.get(key, True)
    if not isinstance(value, bool):
        raise _malformed(f"{place}, {key}", "true or false", value)
    return value


def _functional(config, place, reading, depth):
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise _malformed(f"{place}, layers", "a list of layers", entries)
    result = []
    for i, entry in enumerate(entries):
        where = f"{place}, layer {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _malformed(where, "a layer with a name", entry)
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise _malformed(f"{where}, inbound_nodes", "a list", nodes)
        where = f"{where} ({entry['name']!r})"
        operation = _operation(entry, where, reading)
        if operation is not None:
            translated, options = operation
        else:
            translated, options = _layer(entry, where, reading, depth + 1), {}
        translated["name"] = entry["name"]
        translated["inbound_nodes"] = [
            _node(node, f"{where}, node {n}", reading, options,
                  translated["config"]["function"] if operation is not None else None)
            for n, node in enumerate(nodes)]
        result.append(translated)
    inputs = _references(config.get("input_layers"), f"{place}, input_layers", reading)
    outputs = _references(config.get("output_layers"), f"{place}, output_layers", reading)
    if reading.legacy:
        # tf.keras 2 counts the node a model made with an Input starts out with (its
        # ``_should_skip_first_node``), so its calls in a graph are numbered from 1
        built = {entry["name"] for entry in result if entry["class_name"] in ("Functional", "Model")
                 or (entry["class_name"] == "Sequential" and entry["config"].get("batch_input_shape"))}
        result = _renumbered(result, built, tagged=True)
        inputs, outputs = _renumbered(inputs, built, tagged=False), _renumbered(outputs, built, tagged=False)
    return {"name": _name(config.get("name"), place), "trainable": _flag(config, "trainable", place),
            "layers": result, "input_layers": inputs, "output_layers": outputs}


def _renumbered(value, built, tagged):
    """``value`` with every tensor reference to a layer in ``built`` moved one node down: the
    tagged ``{"__keras_tensor__": [layer, node, tensor]}`` of a node's arguments (``tagged``), or
    the plain ``[layer, node, tensor]`` lists of input/output_layers."""
    def moved(reference):
        name, node, tensor = reference
        return [name, node - 1, tensor] if name in built and node > 0 else reference

    if isinstance(value, dict):
        return {k: (moved(v) if tagged and k == _KERAS_TENSOR else _renumbered(v, built, tagged))
                for k, v in value.items()}
    if isinstance(value, list):
        if not tagged and len(value) == 3 and isinstance(value[0], str):
            return moved(value)  # _references checked its form
        return [_renumbered(v, built, tagged) for v in value]
    return value


def _references(value, place, reading):
    """Keras's input_layers/output_layers: one ``[layer, node, tensor]``, a list of them or a dict;
    a legacy file always lists, and one input listed alone is that input."""
    def one(reference):
        if (not isinstance(reference, list) or len(reference) != 3 or not isinstance(reference[0], str)
                or not all(type(i) is int and 0 <= i < 2**31 for i in reference[1:])):
            raise _malformed(place, "a tensor reference [layer name, node index, tensor index]", reference)
        return list(reference)

    if isinstance(value, dict):
        return {str(k): one(v) for k, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], list):
        references = [one(v) for v in value]
        return references[0] if reading.legacy and len(references) == 1 else references
    return one(value)


def _camel_to_snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _operation(entry, place, reading):
    """A ``keras.ops`` operation node: chainrule's OpLayer description and the options Keras
    keeps in the operation (``Any(axis=-1)``) that chainrule passes with each call; None for a
    layer."""
    module = entry.get("module")
    if not (isinstance(module, str) and (module.startswith("keras.src.ops.") or module.startswith("keras.ops"))):
        return None
    class_name, config, _, _ = _entry(entry, place, ("name", "inbound_nodes"))
    function = _camel_to_snake(class_name)
    from chainrule.layers.core.op_layer import operation

    try:
        operation(function)
    except ValueError:
        reading.problem(place, entry["name"], class_name, None, None,
                        f"an operation chainrule.ops does not have ({function})")
    options = {k: v for k, v in config.items() if k != "name"}
    for key, value in options.items():
        _check_plain(value, f"{place}, {key}", reading, entry["name"], class_name, key, 0)
    return {"class_name": "OpLayer", "config": {"function": function, "name": entry["name"]}}, options


def _node(node, place, reading, options, function):
    """One call of a layer: Keras 3's ``{"args", "kwargs"}`` or tf.keras 2's list of
    ``[layer, node, tensor, kwargs]``, as chainrule's ``{"args", "kwargs"}``."""
    if isinstance(node, list) and reading.legacy:
        tensors, kwargs = [], {}
        for reference in node:
            if (not isinstance(reference, list) or len(reference) not in (3, 4) or not isinstance(reference[0], str)
                    or not all(type(i) is int and 0 <= i < 2**31 for i in reference[1:3])):
                raise _malformed(place, "[layer name, node index, tensor index, kwargs]", reference)
            tensors.append({_KERAS_TENSOR: list(reference[:3])})
            if len(reference) == 4:
                if not isinstance(reference[3], dict):
                    raise _malformed(place, "the call's keyword arguments as an object", reference[3])
                kwargs = reference[3]
        if not tensors:
            raise _malformed(place, "a node with at least one input", node)
        args = [tensors[0] if len(tensors) == 1 else tensors]
        kwargs = {k: _argument(v, place, 0) for k, v in kwargs.items()}
    else:
        if not isinstance(node, dict) or set(node) != {"args", "kwargs"} or not isinstance(
                node["args"], list) or not isinstance(node["kwargs"], dict):
            raise _malformed(place, "a node {args, kwargs}", node)
        args = [_argument(a, place, 0) for a in node["args"]]
        kwargs = {k: _argument(v, place, 0) for k, v in node["kwargs"].items()}
    if kwargs.get("mask", 0) is None:
        del kwargs["mask"]  # Keras records the absent mask of a nested model's call
    if function == "get_item" and len(args) == 2 and isinstance(args[1], list):
        args[1] = {"__tuple__": args[1]}  # JSON has no tuples; an index is one, never a list
    kwargs.update(options)
    return {"args": _options_before_operands(function, args, kwargs), "kwargs": kwargs}


def _options_before_operands(function, args, kwargs):
    """``args`` with the options that come before a ``*operands`` parameter (einsum's
    subscripts, which Keras keeps in the operation) taken out of ``kwargs`` and put in front, the
    only way Python passes both."""
    if function is None or not args:
        return args
    from chainrule.layers.core.op_layer import operation

    try:
        parameters = list(inspect.signature(operation(function)).parameters.values())
    except (TypeError, ValueError):
        return args
    before = next((parameters[:i] for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_POSITIONAL),
                  None)
    if not before or not all(p.name in kwargs for p in before):
        return args
    return [kwargs.pop(p.name) for p in before] + args


def _argument(value, place, depth):
    """A node's argument in chainrule's tagged form."""
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: the arguments nest deeper than {MAX_NESTING} levels")
    if isinstance(value, list):
        return [_argument(v, place, depth + 1) for v in value]
    if isinstance(value, dict):
        tag, inner = value.get("class_name"), value.get("config")
        if tag == _KERAS_TENSOR:
            history = inner.get("keras_history") if isinstance(inner, dict) else None
            if (not isinstance(history, list) or len(history) != 3 or not isinstance(history[0], str)
                    or not all(type(i) is int and 0 <= i < 2**31 for i in history[1:])):
                raise _malformed(place, "a tensor with keras_history [layer name, node index, tensor index]", value)
            return {_KERAS_TENSOR: list(history)}
        if tag == "__tuple__" and isinstance(inner, dict) and isinstance(inner.get("value"), list):
            return {"__tuple__": [_argument(v, place, depth + 1) for v in inner["value"]]}
        if tag == "__slice__" and isinstance(inner, dict) and set(inner) == {"start", "stop", "step"}:
            parts = [_argument(inner[k], place, depth + 1) for k in ("start", "stop", "step")]
            if not all(p is None or type(p) is int for p in parts):
                raise _malformed(place, "a slice of ints", value)
            return {"__slice__": parts}
        if tag == "__ellipsis__":
            return {"__ellipsis__": True}
        if tag is not None or any(not isinstance(k, str) or k.startswith("__") for k in value):
            raise SavingError(f"{place}: a call argument chainrule does not take from a file "
                              f"({_short(tag or value)}); a graph is called on its tensors and plain "
                              f"numbers only")
        return {k: _argument(v, place, depth + 1) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise _malformed(place, "a plain call argument", value)


def _accepted(cls):
    """The keyword arguments ``cls``'s constructor takes, its bases' included up to Layer."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters
        except (TypeError, ValueError):
            break
        names |= {n for n, p in parameters.items()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != "self"}
        if klass is layers.Layer or not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    return names


def _layer(item, place, reading, depth):
    """One layer entry as chainrule's ``{"class_name", "config"}``."""
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: models and layers nest deeper than {MAX_NESTING} levels")
    class_name, config, registered_name, _ = _entry(item, place, ("name", "inbound_nodes"))
    layer_name = config.get("name", item.get("name"))
    cls = reading.lookup([registered_name, class_name], serialization._LAYERS)
    if cls is None or cls is layers.OpLayer:
        reading.problem(place, layer_name, class_name, None, None,
                        "a layer class chainrule does not have and nobody registered (chainrule never "
                        "imports a class a file names; register it or pass it in custom_objects)")
        return {"class_name": class_name, "config": {}}
    if not (isinstance(cls, type) and issubclass(cls, layers.Layer)):
        reading.problem(place, layer_name, class_name, None, None, "not a layer class")
        return {"class_name": class_name, "config": {}}
    if _is_model_class(cls):
        return _model(item, place, reading, depth + 1)
    name = cls.__name__
    accepted = _accepted(cls)
    user_class = not cls.__module__.startswith("chainrule.")
    result = {}
    if cls is layers.Lambda:
        return {"class_name": name, "config": _lambda(config, place, reading, layer_name)}
    for key, value in config.items():
        where = f"{place}, {key}"

        def problem(why, key=key, value=value):
            reading.problem(place, layer_name, class_name, key, value, why)

        if key == "dtype":
            result[key] = _dtype(value, place, reading, layer_name, class_name, cls is layers.InputLayer)
        elif cls is layers.Bidirectional and key == "backward_layer":
            continue  # compared with the forward layer below
        elif key in ("layer", "cell") or (key == "cells" and cls is layers.StackedRNNCells):
            if key == "cells":
                if not isinstance(value, list):
                    raise _malformed(where, "a list of cells", value)
                result[key] = [_layer(v, f"{where} {i}", reading, depth + 1) for i, v in enumerate(value)]
            else:
                result[key] = _layer(value, where, reading, depth + 1)
        elif key.endswith("_initializer"):
            result[key] = _initializer(value, where, reading, layer_name, class_name, key)
        elif key.endswith("_regularizer"):
            result[key] = _object(value, where, reading, layer_name, class_name, key,
                                  regularizers.ALL_OBJECTS_DICT, "regularizer")
        elif key.endswith("_constraint"):
            result[key] = _object(value, where, reading, layer_name, class_name, key,
                                  constraints.ALL_OBJECTS_DICT, "constraint")
        elif key in ("activation", "recurrent_activation") and not (
                user_class and isinstance(value, str) and reading.lookup([value], activations.ALL) is None):
            # a user's layer may take any string here; chainrule's take a function's name
            result[key] = _activation(value, where, reading, layer_name, class_name, key)
        elif cls is layers.InputLayer and key == "batch_input_shape":
            result["batch_shape"] = value  # tf.keras 2's name
        elif key in _ONLY_DEFAULT and key in accepted:
            if value not in _KERAS_DEFAULTS[key]:  # chainrule's InputLayer has the argument, to refuse it
                problem(f"chainrule has no {key} inputs")
        elif key in accepted or (user_class and key not in _KERAS_DEFAULTS):
            _check_plain(value, where, reading, layer_name, class_name, key, 0, user_class)
            result[key] = value
        elif key in _ANY_VALUE:
            continue
        elif key in _KERAS_DEFAULTS:
            if not any(value is d or (type(value) is type(d) and value == d) for d in _KERAS_DEFAULTS[key]):
                problem(f"chainrule's {name} has no {key} (only its default "
                        f"{_KERAS_DEFAULTS[key][0]!r} can be read)")
        else:
            problem(f"not an argument chainrule's {name} takes")
    if cls is layers.Bidirectional and config.get("backward_layer") is not None and not _mirror(config, place):
        result["backward_layer"] = _layer(config["backward_layer"], f"{place}, backward_layer", reading, depth + 1)
    return {"class_name": name, "config": result}


def _mirror(config, place):
    """Whether Bidirectional's backward_layer is the mirror Keras (and chainrule) make of
    ``layer`` by default (Keras writes it always), which chainrule rebuilds itself."""
    forward = _entry(config.get("layer"), f"{place}, layer")
    backward = _entry(config["backward_layer"], f"{place}, backward_layer")
    ignore = {"name", "go_backwards"}
    return (forward[0] == backward[0]
            and _unshared({k: v for k, v in forward[1].items() if k not in ignore})
            == _unshared({k: v for k, v in backward[1].items() if k not in ignore})
            and backward[1].get("go_backwards") != forward[1].get("go_backwards"))


def _unshared(value):
    """``value`` without the ``shared_object_id`` marks Keras's saving adds to each object."""
    if isinstance(value, dict):
        return {k: _unshared(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_unshared(v) for v in value]
    return value


def _check_plain(value, place, reading, layer, class_name, key, depth, user_class=False):
    """A configuration value must be plain data; a Keras object description where chainrule
    expects a value (``{"module": "os", ...}``) is reported. A user's registered class may take
    descriptions of objects that are chainrule's or registered (its from_config reads them)."""
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: the value nests deeper than {MAX_NESTING} levels")
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            _function_name(value, place, reading, layer, class_name, key, {})
            return
        if "class_name" in value or "module" in value:
            names = [value.get("registered_name"), value.get("class_name")]
            if value.get("class_name") == "function":
                names = [value.get("registered_name"), value.get("config")]
            known = {**serialization._LAYERS, **serialization._INITIALIZERS, **regularizers.ALL_OBJECTS_DICT,
                     **constraints.ALL_OBJECTS_DICT}
            if not user_class or reading.lookup(names, known) is None:
                reading.problem(place, layer, class_name, key, value,
                                "an object description where chainrule takes plain values (or one "
                                "nobody registered); it is never imported or built")
                return
        for k, v in value.items():
            _check_plain(v, place, reading, layer, class_name, key, depth + 1, user_class)
    elif isinstance(value, list):
        for v in value:
            _check_plain(v, place, reading, layer, class_name, key, depth + 1, user_class)
    elif not (value is None or isinstance(value, (bool, int, float, str))):
        raise _malformed(place, "plain data", value)


def _function_name(value, place, reading, layer, class_name, key, table):
    """A function a file names: ``"relu"`` or Keras's ``{"class_name": "function", "config":
    name, "registered_name", "module"}``. The name must be in ``table`` or registered; the
    module is never imported."""
    if isinstance(value, str):
        if value in table:
            return value
        found, found_as = reading.lookup([value], {}, with_key=True)
        if found is not None:
            return found_as
        reading.problem(place, layer, class_name, key, value,
                        "a function chainrule does not have and nobody registered")
        return value
    if isinstance(value, dict) and value.get("class_name") == "__lambda__":
        reading.problem(place, layer, class_name, key, "__lambda__ code",
                        "Python code serialized in the file; chainrule never runs code from a file "
                        "(Keras refuses it too in safe_mode, CVE-2024-3660): define the function, "
                        "register it and save again")
        return None
    if isinstance(value, dict) and value.get("class_name") == "function" and isinstance(value.get("config"), str):
        registered = value.get("registered_name")
        names = [value["config"]] + ([registered] if isinstance(registered, str) else [])
        for name in names:
            short = name.rpartition(">")[2]
            if short in table:
                return short
        found, found_as = reading.lookup(names, {}, with_key=True)
        if callable(found) and not isinstance(found, type):
            return found_as  # the name the caller registered it or passed it in custom_objects under
        module = value.get("module")
        reading.problem(place, layer, class_name, key, f"{module}.{value['config']}" if module else value["config"],
                        "a function that is neither chainrule's nor registered (nothing a file names "
                        "is imported)")
        return None
    reading.problem(place, layer, class_name, key, value, "not a function chainrule can look up by name")
    return None


def _activation(value, place, reading, layer, class_name, key):
    if value is None:
        return None
    return _function_name(value, place, reading, layer, class_name, key, activations.ALL)


def _lambda(config, place, reading, layer_name):
    """A Lambda's configuration: its functions by registered name only."""
    result = {}
    for key, value in config.items():
        if key == "dtype":
            result[key] = _dtype(value, place, reading, layer_name, "Lambda")
        elif key in ("function", "output_shape", "mask"):
            if isinstance(value, list) and key == "function":
                # tf.keras 2 marshals a lambda's bytecode as [code, defaults, closure]
                value = {"class_name": "__lambda__", "config": {}}
            if key != "function" and (value is None or (isinstance(value, list) and all(
                    d is None or type(d) is int for d in value))):
                result[key] = value
                continue
            function = _function_name(value, f"{place}, {key}", reading, layer_name, "Lambda", key, {})
            if function is not None:
                result[key] = function
        elif key in ("name", "trainable", "arguments"):
            _check_plain(value, f"{place}, {key}", reading, layer_name, "Lambda", key, 0)
            result[key] = value
        elif key in ("function_type", "module", "output_shape_type", "output_shape_module"):
            continue  # tf.keras 2's notes on where the code came from
        else:
            reading.problem(place, layer_name, "Lambda", key, value, "not an argument chainrule's Lambda takes")
    return result


def _initializer(value, place, reading, layer, class_name, key):
    """An initializer as chainrule's reader takes it: a name, or ``{"class_name", "config"}``
    of one of chainrule's classes (Keras 3's unused ``input_axes``/``output_axes`` dropped)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str) or not isinstance(
            value.get("config", {}), dict):
        raise _malformed(place, "an initializer name or {class_name, config}", value)
    names = [value.get("registered_name"), value["class_name"]]
    cls = reading.lookup(names, serialization._INITIALIZERS)
    if not isinstance(cls, type):
        reading.problem(place, layer, class_name, key, value["class_name"],
                        "an initializer chainrule does not have and nobody registered")
        return None
    options = {}
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    for option, option_value in value.get("config", {}).items():
        if option in accepted:
            _check_plain(option_value, place, reading, layer, class_name, key, 0)
            options[option] = option_value
        elif option in _INITIALIZER_DEFAULTS and option_value in _INITIALIZER_DEFAULTS[option]:
            continue
        else:
            reading.problem(place, layer, class_name, f"{key}.{option}", option_value,
                            f"not an argument chainrule's {cls.__name__} takes")
    return {"class_name": cls.__name__ if cls.__name__ in serialization._INITIALIZERS else names[-1],
            "config": options}


def _object(value, place, reading, layer, class_name, key, table, kind):
    """A regularizer or constraint as chainrule's ``regularizers.get``/``constraints.get`` take
    it (Keras's ``{"module", "class_name", "config", "registered_name"}`` less the module)."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in table and reading.lookup([value], {}) is None:
            reading.problem(place, layer, class_name, key, value, f"a {kind} chainrule does not have")
        return value
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        raise _malformed(place, f"a {kind} name or {{class_name, config}}", value)
    if value["class_name"] == "function":
        name = _function_name(value, place, reading, layer, class_name, key, {})
        return None if name is None else {"class_name": "function", "config": name, "registered_name": name}
    names = [value.get("registered_name"), value["class_name"]]
    found = reading.lookup(names, table)
    if not isinstance(found, type):
        reading.problem(place, layer, class_name, key, value["class_name"],
                        f"a {kind} chainrule does not have and nobody registered")
        return None
    inner = value.get("config", {})
    if not isinstance(inner, dict):
        raise _malformed(place, f"the {kind}'s config as an object", inner)
    _check_plain(inner, place, reading, layer, class_name, key, 0)
    result = {"class_name": value["class_name"], "config": inner}
    if isinstance(value.get("registered_name"), str):
        result["registered_name"] = value["registered_name"]
    return result


# --- writing --------------------------------------------------------------------------------

_KERAS_LAYERS = "keras.layers"


def _policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name or "float32"},
            "registered_name": None}


def to_keras(item, where):
    """The Keras 3 ``config.json`` description of a model chainrule's
    :func:`serialization.serialize_model` described (``item``).

    Returns:
        ``{"module", "class_name", "config", "registered_name", "build_config"}``.

    Raises:
        SavingError: for a part Keras cannot take (a chainrule-only setting at a value other
            than its default), naming the layer and key.
    """
    return _keras_model(item, where, 0)


def _keras_model(item, place, depth):
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: models nest deeper than {MAX_NESTING} levels")
    if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
        raise _malformed(place, "a model {class_name, config}", item)
    class_name, config = item.get("class_name"), item["config"]
    if class_name == "Sequential":
        layer_list = []
        declared = config.get("batch_input_shape")
        built = config.get("built_input_shape") or declared
        if declared is not None:
            layer_list.append({"module": _KERAS_LAYERS, "class_name": "InputLayer",
                               "config": {"batch_shape": list(declared),
                                          "dtype": _keras_input_dtype(config.get("input_dtype"), place),
                                          "sparse": False,
                                          "ragged": False, "name": f"{config.get('name') or 'sequential'}_input",
                                          "optional": False},
                               "registered_name": None})
        layer_list += [_keras_layer(entry, f"{place}, layer {i}", depth + 1)
                       for i, entry in enumerate(config.get("layers", []))]
        keras_config = {"name": config.get("name"), "trainable": config.get("trainable", True),
                        "dtype": _policy("float32"), "layers": layer_list}
        if built is not None:
            keras_config["build_input_shape"] = list(built)
        return {"module": "keras", "class_name": "Sequential", "config": keras_config, "registered_name": None,
                "build_config": {"input_shape": None if built is None else list(built)}}
    if class_name in ("Functional", "Model") or ("layers" in config and "input_layers" in config):
        keras_config = {
            "name": config.get("name"), "trainable": config.get("trainable", True),
            "layers": [_keras_graph_entry(entry, f"{place}, layer {i}", depth + 1)
                       for i, entry in enumerate(config.get("layers", []))],
            "input_layers": config.get("input_layers"), "output_layers": config.get("output_layers")}
        if class_name in ("Functional", "Model"):
            return {"module": "keras.src.models.functional", "class_name": "Functional", "config": keras_config,
                    "registered_name": "Functional", "build_config": {"input_shape": None}}
        return {"module": None, "class_name": class_name, "config": keras_config, "registered_name": class_name,
                "build_config": {"input_shape": None}}
    shape = item.get("build_input_shape")
    result = {"module": None, "class_name": class_name, "config": dict(config), "registered_name": class_name}
    if shape is not None:
        result["build_config"] = {"input_shape": shape}
    return result


def _keras_graph_entry(entry, place, depth):
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise _malformed(place, "a layer with a name", entry)
    if entry.get("class_name") == "OpLayer":
        translated, options = _keras_operation(entry, place)
    else:
        translated, options = _keras_layer(entry, place, depth), None
    translated["name"] = entry["name"]
    nodes = []
    for node in entry.get("inbound_nodes", []):
        args = [_keras_argument(a) for a in node.get("args", [])]
        kwargs = {k: _keras_argument(v) for k, v in node.get("kwargs", {}).items()}
        if options is not None and entry["config"].get("function") != "get_item":
            # Keras keeps an operation's options (Any's axis) in the operation, not in its call
            args, kwargs, taken = _named_options(entry["config"]["function"], args, kwargs, place)
            for key, value in taken.items():
                options.setdefault(key, value)
        nodes.append({"args": args, "kwargs": kwargs})
    if options is not None:
        translated["config"].update(options)
    translated["inbound_nodes"] = nodes
    return translated


# Keras keeps an operation's options in the operation (its __init__), its operands in the call.
# Mostly an option is a parameter with a default; these are the exceptions, read from keras 3.15's
# keras/src/ops/*.py (tests/saving/test_keras_config.py checks them against the installed Keras).
_OPTIONS_WITHOUT_DEFAULT = {
    "average_pool": {"pool_size"}, "broadcast_to": {"shape"}, "cast": {"dtype"}, "clip": {"x_min", "x_max"},
    "einsum": {"subscripts"}, "expand_dims": {"axis"}, "fori_loop": {"lower", "upper", "body_fun"},
    "full": {"shape"}, "in_top_k": {"k"}, "max_pool": {"pool_size"}, "moments": {"axes"},
    "moveaxis": {"source", "destination"}, "one_hot": {"num_classes"}, "pad": {"pad_width"},
    "repeat": {"repeats"}, "reshape": {"newshape"}, "roll": {"shift"}, "slice": {"shape"},
    "split": {"indices_or_sections"}, "swapaxes": {"axis1", "axis2"}, "tile": {"repeats"}, "top_k": {"k"},
    "while_loop": {"cond", "body"},
}
_OPERANDS_WITH_DEFAULT = {
    "arange": {"stop", "step"}, "average": {"weights"}, "isclose": {"rtol", "atol"},
    "pad": {"constant_values"}, "scan": {"xs"}, "where": {"x1", "x2"},
}


def _is_option(function, parameter):
    """Whether Keras's operation for ``function`` takes ``parameter`` (an inspect.Parameter) in
    its constructor, so the file keeps it in the operation's config rather than in the call."""
    if parameter.name in _OPTIONS_WITHOUT_DEFAULT.get(function, ()):
        return True
    return parameter.default is not inspect.Parameter.empty and parameter.name not in _OPERANDS_WITH_DEFAULT.get(
        function, ())


def _named_options(function, args, kwargs, place):
    """A call's arguments as Keras's file holds them: the options (``ops.sum(x, 1)``'s axis,
    ``ops.reshape(x, (2, 3))``'s new shape) in ``options``, to go into the operation's config,
    by the names chainrule.ops gives them, which are keras.ops's; the operands (``not_equal(x,
    0.0)``'s x2) stay in the call, by position until an option before them has been taken out,
    then by name. Returns (args, kwargs, options)."""
    from chainrule.layers.core.op_layer import operation

    try:
        parameters = list(inspect.signature(operation(function)).parameters.values())
    except (TypeError, ValueError):
        parameters = None
    by_name = {p.name: p for p in parameters or ()}
    options = {key: kwargs.pop(key) for key in list(kwargs)
               if key in by_name and not _has_tensor(kwargs[key]) and _is_option(function, by_name[key])}
    if parameters is None:
        return args, kwargs, options
    varargs = next((i for i, p in enumerate(parameters) if p.kind is inspect.Parameter.VAR_POSITIONAL), None)
    kept, named = [], {}
    for i, value in enumerate(args):
        if varargs is not None:
            parameter = parameters[min(i, varargs)]
        else:
            parameter = parameters[i] if i < len(parameters) else None
        positional = parameter is not None and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        if positional and not _has_tensor(value) and _is_option(function, parameter):
            target = options
        elif parameter is not None and parameter.kind is inspect.Parameter.VAR_POSITIONAL and not named:
            kept.append(value)  # einsum's operands: Keras's call takes them by position too
            continue
        elif named or len(kept) < i:  # an operand after a taken-out option: by its name
            if not positional:
                raise SavingError(f"{place}: the operation {function} was given arguments by position "
                                  f"that Keras's file cannot place; pass them by keyword")
            target = named
        else:
            kept.append(value)
            continue
        if parameter.name in kwargs or parameter.name in target:
            raise SavingError(f"{place}: the operation {function} was given {parameter.name} twice")
        target[parameter.name] = value
    return kept, {**kwargs, **named}, options


def _has_tensor(value):
    if isinstance(value, dict):
        return value.get("class_name") == _KERAS_TENSOR or any(_has_tensor(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_tensor(v) for v in value)
    return False


# operations whose Keras class lives in another module than chainrule.ops keeps them in
_KERAS_OP_MODULES = {"get_item": "numpy", "erf": "math", "logsumexp": "math", "norm": "linalg"}


def _keras_operation(entry, place):
    """chainrule's OpLayer as the ``keras.ops`` operation class of that name (``get_item`` ->
    ``GetItem`` in ``keras.src.ops.numpy``, the module of chainrule.ops that holds it)."""
    function = entry.get("config", {}).get("function")
    if not isinstance(function, str):
        raise _malformed(place, "an operation with a function name", entry)
    from chainrule.layers.core.op_layer import operation

    try:
        run = operation(function)
    except ValueError as error:
        raise SavingError(f"{place}: {error}") from None
    module = _KERAS_OP_MODULES.get(function) or getattr(run, "__module__", "").rpartition(".")[2]
    class_name = "".join(part.capitalize() for part in function.split("_"))
    return ({"module": f"keras.src.ops.{module}", "class_name": class_name, "config": {"name": entry["name"]},
             "registered_name": class_name}, {})


def _keras_argument(value):
    if isinstance(value, list):
        return [_keras_argument(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_KERAS_TENSOR}:
            # Keras rebuilds the graph from keras_history; shape and dtype are placeholders there
            return {"class_name": _KERAS_TENSOR,
                    "config": {"shape": [], "dtype": "float32", "keras_history": list(value[_KERAS_TENSOR])}}
        if set(value) == {"__tuple__"}:
            return [_keras_argument(v) for v in value["__tuple__"]]
        if set(value) == {"__slice__"}:
            start, stop, step = value["__slice__"]
            return {"class_name": "__slice__", "config": {"start": start, "stop": stop, "step": step}}
        if set(value) == {"__ellipsis__"}:
            return {"class_name": "__ellipsis__", "config": {}}
        return {k: _keras_argument(v) for k, v in value.items()}
    return value


# chainrule-only keys, and the value at which Keras's layer behaves the same without them
_CHAINRULE_DEFAULTS = {"input_length": None, "rms_scaling": False}


def _keras_input_dtype(value, place):
    if value is None:
        return "float32"
    if value not in _KERAS_INPUT_DTYPES:
        raise SavingError(f"{place}: an input of dtype {value!r:.80}, which Keras's inputs do not take "
                          f"(expected one of {sorted(_KERAS_INPUT_DTYPES)})")
    return value


def _keras_layer(item, place, depth):
    if depth > MAX_NESTING:
        raise SavingError(f"{place}: layers nest deeper than {MAX_NESTING} levels")
    if not isinstance(item, dict) or not isinstance(item.get("config"), dict):
        raise _malformed(place, "a layer {class_name, config}", item)
    class_name, config = item.get("class_name"), item["config"]
    cls = serialization._LAYERS.get(class_name)
    if class_name in ("Sequential", "Functional", "Model") or (cls is None and "layers" in config) or (
            isinstance(cls, type) and _is_model_class(cls)):
        return _keras_model(item, place, depth + 1)
    registered = cls is None or cls is not serialization.get_custom_objects().get(class_name, cls)
    result = {}
    for key, value in config.items():
        if key == "dtype":
            result[key] = value if class_name == "InputLayer" else _policy(value)
        elif key in ("layer", "cell", "backward_layer") and isinstance(value, dict):
            result[key] = _keras_layer(value, f"{place}, {key}", depth + 1)
        elif key == "cells" and isinstance(value, list):
            result[key] = [_keras_layer(v, f"{place}, cell {i}", depth + 1) for i, v in enumerate(value)]
        elif key.endswith("_initializer") and isinstance(value, dict):
            result[key] = {"module": "keras.initializers", "class_name": value.get("class_name"),
                           "config": value.get("config", {}), "registered_name": None}
        elif (key.endswith("_regularizer") or key.endswith("_constraint")) and isinstance(value, dict):
            kind = "regularizers" if key.endswith("_regularizer") else "constraints"
            result[key] = {"module": f"keras.{kind}", "registered_name": None, **value}
        elif key in ("activation", "recurrent_activation") and serialization.registered_function(value):
            # a registered function by name, which Keras finds among its custom objects
            result[key] = {"module": None, "class_name": "function", "config": value, "registered_name": value}
        elif key in _CHAINRULE_DEFAULTS and not registered:
            if value != _CHAINRULE_DEFAULTS[key]:
                raise SavingError(f"{place}: layer {config.get('name')!r} ({class_name}): {key} = "
                                  f"{_short(value)} has no Keras equivalent (Keras's {class_name} takes "
                                  f"no {key})")
        else:
            result[key] = value
    if class_name == "Lambda":
        for key in ("function", "output_shape", "mask"):
            if isinstance(result.get(key), str):
                # a registered function by name, which Keras finds among its custom objects
                result[key] = {"module": None, "class_name": "function", "config": result[key],
                               "registered_name": result[key]}
    if class_name == "InputLayer":
        result = {"batch_shape": result.get("batch_shape"), "dtype": _keras_input_dtype(result.get("dtype"), place),
                  "sparse": False, "ragged": False, "name": result.get("name"), "optional": False}
    return {"module": _KERAS_LAYERS if not registered else None, "class_name": class_name, "config": result,
            "registered_name": None if not registered else class_name}
