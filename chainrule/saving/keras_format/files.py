"""Keras's model files, read and written: ``.keras`` archives, ``.weights.h5`` files, and the
legacy tf.keras ``.h5`` files (read only).

Reading checks the whole file before anything is built: the archive's members and sizes and
every HDF5 dataset (:mod:`.archive`), then the architecture, where whatever the file needs and
chainrule lacks is named in one error (:mod:`.config`); the model is then built within a weight
budget of what the file holds, every weight found at its Keras path with its shape checked, and
only then are the values copied. chainrule's random generator is left as it was: building layers
draws initial weights that the file's then replace.
"""

import datetime
import json
import re

from chainrule import _backend, autograd
from chainrule.layers.layer import weight_budget
from chainrule.saving.format import SavingError, _finite, _non_finite, _unique_keys
from chainrule.saving.keras_format import archive, config, training
from chainrule.saving.keras_format.weights import dataset_paths, layout, legacy_layers
from chainrule.saving.serialization import _describe, _read_compile, deserialize_model, serialize_model
from chainrule.utils.files import atomic_write

# the Keras release whose file format chainrule writes and is tested against
KERAS_VERSION = "3.15.1"
MAX_JSON_DEPTH = 200  # how deeply config.json may nest (Python's parser recurses)


def _json(text, what, where):
    """The JSON value of ``text`` (bytes, or a str HDF5 attribute): as chainrule's own header is
    read (unique keys, finite numbers), its depth bounded before Python's recursive parser sees
    it (a bracket inside a string counts too, which can only refuse more)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SavingError(f"{where}: {what} is not UTF-8 ({error})") from None
    if not isinstance(text, str):
        raise SavingError(f"{where}: {what} must be JSON text, found {type(text).__name__}")
    depth = running = 0
    for character in text:
        if character in "[{":
            running += 1
            depth = max(depth, running)
        elif character in "]}":
            running -= 1
    if depth > MAX_JSON_DEPTH:
        raise SavingError(f"{where}: {what} nests {depth} levels deep; at most {MAX_JSON_DEPTH} are read")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_float=_finite, parse_constant=_non_finite)
    except SavingError as error:
        raise SavingError(f"{where}: {what}: {error}") from None
    except (ValueError, RecursionError) as error:
        raise SavingError(f"{where}: {what} is not valid JSON ({str(error)[:200]})") from None


def _kept_random_state(function, *args):
    """``function(*args)`` with chainrule's random generator as it was before, whatever happens."""
    state = _backend.get_rng_state()
    try:
        return function(*args)
    finally:
        _backend.set_rng_state(state)


def _modern_paths(arrays):
    """``arrays`` with tf.keras 2.13's group name ``_layer_checkpoint_dependencies`` read as the
    ``layers`` it later became (as Keras 3's ``H5IOStore.get`` reads it)."""
    old = "_layer_checkpoint_dependencies"
    if not any(old in path for path in arrays):
        return arrays
    return {path.replace(old, "layers"): array for path, array in arrays.items()}


def _checked_weights(variables, paths, arrays, where):
    """``[(variable, array)]``: each variable's array from the file at its path, its shape
    checked; and every dataset but the optimizer's and the metrics' claimed. Nothing is copied
    here."""
    pairs, missing, wrong = [], [], []
    for variable in variables:
        path = paths[id(variable)]
        array = arrays.get(path)
        if array is None:
            missing.append(f"{variable.path} (at {path})")
        elif array.shape != variable.shape or array.dtype.kind not in "fiub":
            wrong.append(f"{variable.path}: the model's shape is {variable.shape}, the file's ({path}) "
                         f"{array.shape} {array.dtype}")
        else:
            pairs.append((variable, array))
    claimed = set(paths.values())
    # the optimizer's are read apart; the running sums of metrics (tf.keras 2 saved them) are not state a
    # model resumes from, as Keras 3 does not save them
    extra = sorted(p for p in arrays if not p.startswith(("optimizer/", "metrics/")) and p not in claimed)
    problems = ([f"missing weights: {', '.join(missing[:10])}"] if missing else []) + wrong[:10] + (
        [f"weights the model does not have: {', '.join(extra[:10])}"] if extra else [])
    if problems:
        raise SavingError(f"{where}: the file's weights do not fit the model: " + "; ".join(problems))
    return pairs


def _copy(pairs):
    for variable, array in pairs:
        variable.data[...] = array
    autograd.mark_changed(*(variable.data for variable, _ in pairs))


def _build_model(description, arrays, where, custom_objects):
    stored = sum(array.size for array in arrays.values())
    try:
        with weight_budget(stored, sample_limit=max(2**20, stored)):
            return deserialize_model(description, where, custom_objects)
    except SavingError:
        raise
    except Exception as error:  # a check missed is still a malformed file, never a bare KeyError
        raise SavingError(f"{where}: the model description is malformed ({_describe(error)})") from None


def _optimizer_arrays(arrays, group, where):
    """The optimizer's variables ``group/0``, ``group/1``, ... in order (none if absent)."""
    found = {}
    for path, array in arrays.items():
        if path.startswith(group + "/"):
            index = path[len(group) + 1:]
            if not re.fullmatch(r"0|[1-9][0-9]{0,8}", index):
                raise SavingError(f"{where}: unexpected optimizer dataset {path!r}")
            found[int(index)] = array
    if sorted(found) != list(range(len(found))):
        raise SavingError(f"{where}: the optimizer's variables are not numbered 0 to {len(found) - 1}")
    return [found[i] for i in range(len(found))]


def _compile(model, compile_description, optimizer_arrays, where, custom_objects):
    compiled = _read_compile(compile_description, model, {}, {}, where, custom_objects)
    if optimizer_arrays:
        training.optimizer_state_from_keras(compiled.optimizer, model.trainable_weights,
                                            optimizer_arrays, where)
    return compiled


# --- .keras ---------------------------------------------------------------------------------


def load_keras(filepath, custom_objects=None, compile=True):
    """The model in a Keras 3 ``.keras`` archive (see :func:`chainrule.saving.load_model`)."""
    where = f"load_model {filepath}"
    members = archive.read_archive(filepath, where)
    item = _json(members["config.json"], "config.json", where)
    metadata = _json(members["metadata.json"], "metadata.json", where)
    if not isinstance(metadata, dict):
        raise SavingError(f"{where}: metadata.json must be an object, found {metadata!r:.200}")
    contents = archive.read_h5(members["model.weights.h5"], f"{where}: model.weights.h5")
    if not isinstance(item, dict):
        raise SavingError(f"{where}: config.json must describe a model as an object, found {item!r:.200}")
    # tf.keras 2.13 to 2.15 wrote .keras archives too, with its own dialect of the descriptions
    legacy = str(metadata.get("keras_version", "")).startswith("2.")
    description = config.from_keras(item, where, custom_objects, legacy=legacy)
    compile_config = item.get("compile_config") if compile else None
    # Keras writes {} for a model never compiled, and compiles only from a non-empty one
    compile_description = (training.compile_from_keras(compile_config, f"{where}: compile_config",
                                                       legacy=legacy, custom_objects=custom_objects)
                           if compile_config else None)

    def build():
        model = _build_model(description, contents.arrays, where, custom_objects)
        pairs = _checked_weights(model.weights, dataset_paths(model), _modern_paths(contents.arrays), where)
        compiled = None
        if compile_description is not None:
            # tf.keras 2's optimizers keep other variables than Keras 3's (no learning rate, their
            # own order): their state is left out, and training resumes with a fresh optimizer
            state = [] if legacy else _optimizer_arrays(contents.arrays, "optimizer/vars", where)
            compiled = _compile(model, compile_description, state, where, custom_objects)
        _copy(pairs)
        if compiled is not None:
            model.compiled = compiled
        return model

    return _kept_random_state(build)


def _weights_file(model):
    """``(arrays, attrs)`` of ``model``'s weights in Keras 3's layout (and its optimizer's)."""
    arrays, attrs = {}, {}
    for group, name, variables in layout(model):
        attrs[group] = {"name": name}
        for i, variable in enumerate(variables):
            arrays[f"{group}/{i}"] = variable.data
    return arrays, attrs


def save_keras(model, filepath):
    """Writes ``model`` as a Keras 3 ``.keras`` archive: ``config.json`` (architecture and compile
    settings), ``metadata.json`` and ``model.weights.h5`` (weights and optimizer state).

    Raises:
        SavingError: for a part of the model Keras's format cannot describe, before anything is
            written.
    """
    where = f"save {filepath}"
    item = config.to_keras(serialize_model(model, where), where)
    arrays, attrs = _weights_file(model)
    if model.compiled is not None:
        item["compile_config"] = training.compile_to_keras(model.compiled, where)
        optimizer = model.compiled.optimizer
        attrs["optimizer/vars"] = {"name": getattr(optimizer, "name", type(optimizer).__name__.lower())}
        for i, value in enumerate(training.optimizer_state_to_keras(optimizer, model.trainable_weights)):
            arrays[f"optimizer/vars/{i}"] = value
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": "chainrule"}
    weights = archive.write_h5(arrays, attrs)
    archive.write_archive(filepath, {"metadata.json": json.dumps(metadata).encode(),
                                     "config.json": json.dumps(item).encode(),
                                     "model.weights.h5": weights})


# --- weights files ----------------------------------------------------------------------------


def save_weights_h5(model, filepath):
    """Writes ``model``'s weights as Keras 3's ``.weights.h5`` (the layout inside a ``.keras``)."""
    arrays, attrs = _weights_file(model)
    data = archive.write_h5(arrays, attrs)
    with atomic_write(filepath) as file:
        file.write(data)


def save_weights_legacy(model, filepath):
    """Writes ``model``'s weights in the legacy tf.keras layout (``save_weights("w.h5")`` in
    tf.keras 2): a group per layer, listed in ``layer_names``, with its ``weight_names``."""
    arrays, attrs = {}, {}
    entries = legacy_layers(model)
    attrs[""] = {"layer_names": [layer.name for layer, _ in entries], "backend": "numpy",
                 "keras_version": KERAS_VERSION}
    for layer, weights in entries:
        names = []
        for variable in weights:
            name = variable.path if variable.path.startswith(layer.name + "/") else f"{layer.name}/{variable.path}"
            while name in names:  # two weights of one name (nested models' layers may share one)
                name += "_"
            names.append(name)
            arrays[f"{layer.name}/{name}"] = variable.data
        attrs[layer.name] = {"weight_names": names}
    data = archive.write_h5(arrays, attrs)
    with atomic_write(filepath) as file:
        file.write(data)


def load_weights_from(model, contents, where):
    """Copies the weights in ``contents`` (a checked HDF5 file: Keras 3's layout, or the legacy
    tf.keras layout of a weights or whole-model file) into ``model``, all checked first."""
    if (_attribute_list(contents.attrs.get("", {}), "layer_names") is not None
            or _attribute_list(contents.attrs.get("model_weights", {}), "layer_names") is not None):
        pairs = _legacy_weights(model, contents, where)
    else:
        pairs = _checked_weights(model.weights, dataset_paths(model), _modern_paths(contents.arrays), where)
    _copy(pairs)


def load_weights_h5(model, filepath, archived):
    """Reads Keras's weights (``.weights.h5``, a legacy ``.h5``, or when ``archived`` the
    weights inside a ``.keras`` archive)."""
    where = f"load_weights {filepath}"
    if archived:
        members = archive.read_archive(filepath, where)
        contents = archive.read_h5(members["model.weights.h5"], f"{where}: model.weights.h5")
    else:
        contents = archive.read_h5(filepath, where)
    load_weights_from(model, contents, where)


# --- legacy tf.keras .h5 ----------------------------------------------------------------------


def _attribute_list(attributes, name):
    """An attribute tf.keras may have split in chunks (``layer_names0``, ``layer_names1``, ...)
    when it outgrew HDF5's 64 KiB limit on an attribute's size; None when absent."""
    if name in attributes:
        return attributes[name]
    chunks, index = [], 0
    while f"{name}{index}" in attributes:
        chunk = attributes[f"{name}{index}"]
        chunks.extend([chunk] if isinstance(chunk, str) else chunk if isinstance(chunk, list) else [chunk])
        index += 1
    return chunks if index else None


def _names(value, what, where):
    if isinstance(value, str):
        value = [value]
    if hasattr(value, "size") and value.size == 0:  # h5py writes an empty list as a float array
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SavingError(f"{where}: {what} must be a list of names, found {value!r:.200}")
    return value


def _legacy_weights(model, contents, where):
    """``[(variable, array)]`` for the legacy layout: the file's layers that hold weights matched
    to the model's, in order (as tf.keras's ``load_weights_from_hdf5_group`` matches them)."""
    root = ("model_weights" if _attribute_list(contents.attrs.get("model_weights", {}), "layer_names") is not None
            else "")
    prefix = f"{root}/" if root else ""
    stored = []
    for name in _names(_attribute_list(contents.attrs.get(root, {}), "layer_names"), "layer_names", where):
        names = _attribute_list(contents.attrs.get(prefix + name, {}), "weight_names")
        names = _names([] if names is None else names, f"the weight_names of layer {name}", where)
        if names:
            arrays = []
            for weight in names:
                array = contents.arrays.get(f"{prefix}{name}/{weight}")
                if array is None:
                    raise SavingError(f"{where}: layer {name} lists weight {weight}, which the file does not hold")
                arrays.append((weight, array))
            stored.append((name, arrays))
    ours = [(layer, weights) for layer, weights in legacy_layers(model) if weights]
    if len(stored) != len(ours):
        raise SavingError(f"{where}: the file holds weights for {len(stored)} layers "
                          f"({', '.join(n for n, _ in stored) or 'none'}), the model has {len(ours)} layers with "
                          f"weights ({', '.join(layer.name for layer, _ in ours) or 'none'})")
    pairs = []
    for (name, arrays), (layer, weights) in zip(stored, ours):
        if len(arrays) != len(weights):
            raise SavingError(f"{where}: layer {layer.name} has {len(weights)} weights, the file's layer {name} "
                              f"{len(arrays)}")
        for (weight, array), variable in zip(arrays, weights):
            if array.shape != variable.shape or array.dtype.kind not in "fiub":
                raise SavingError(f"{where}: layer {layer.name}, weight {variable.path}: the model's shape is "
                                  f"{variable.shape}, the file's ({name}/{weight}) {array.shape} {array.dtype}")
            pairs.append((variable, array))
    return pairs


def load_legacy_h5(filepath, custom_objects=None, compile=True):
    """The model in a legacy tf.keras ``.h5`` file (``model.save("m.h5")`` in tf.keras 2): the
    architecture from its ``model_config`` attribute, the weights from ``model_weights``, the
    compile settings from ``training_config``, and the optimizer's state when Keras 3 wrote the
    file (tf.keras 2's list of optimizer weights does not fit Keras 3's optimizers, and Keras 3
    starts those afresh; so does chainrule)."""
    where = f"load_model {filepath}"
    contents = archive.read_h5(filepath, where)
    attributes = contents.attrs.get("", {})
    if "model_config" not in attributes:
        raise SavingError(f"{where}: the file holds no model (no 'model_config'); for a weights file, build "
                          f"the model and call load_weights")
    item = _json(attributes["model_config"], "the model_config attribute", where)
    if not isinstance(item, dict):
        raise SavingError(f"{where}: model_config must describe a model as an object, found {item!r:.200}")
    description = config.from_keras(item, where, custom_objects, legacy=True)
    compile_description = None
    stored = attributes.get("training_config")  # absent, or "" for a model never compiled
    if compile and stored is not None and not (isinstance(stored, str) and not stored):
        training_config = _json(stored, "the training_config attribute", where)
        compile_description = training.compile_from_keras(training_config, f"{where}: training_config",
                                                          legacy=True, custom_objects=custom_objects)

    optimizer_arrays = []
    if compile_description is not None and training.legacy_optimizer_weights_fit(attributes.get("keras_version")):
        names = _attribute_list(contents.attrs.get("optimizer_weights", {}), "weight_names")
        for name in _names([] if names is None else names, "the optimizer's weight_names", where):
            array = contents.arrays.get(f"optimizer_weights/{name}")
            if array is None:
                raise SavingError(f"{where}: the optimizer lists weight {name}, which the file does not hold")
            optimizer_arrays.append(array)

    def build():
        model = _build_model(description, contents.arrays, where, custom_objects)
        pairs = _legacy_weights(model, contents, where)
        compiled = (_compile(model, compile_description, optimizer_arrays, where, custom_objects)
                    if compile_description is not None else None)
        _copy(pairs)
        if compiled is not None:
            model.compiled = compiled
        return model

    return _kept_random_state(build)
