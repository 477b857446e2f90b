"""Where Keras's weight files keep each weight: which HDF5 dataset holds which of a chainrule
model's variables.

Keras 3 (``model.weights.h5`` inside a ``.keras`` archive, and ``.weights.h5`` files) walks the
model as an object tree (``keras/src/saving/saving_lib.py``, ``_save_state``): each layer's own
variables go to ``<path>/vars/0``, ``1``, ... (the trainable ones first), and its children follow
under the attribute that holds them: ``layers/<name>`` for a model's layers, where ``<name>`` is
the class name in snake case numbered within the list (``dense``, ``dense_1``: not the layer's
own name, which differs from one process to the next), ``cell`` for a recurrent layer's cell,
``forward_layer``/``backward_layer`` for Bidirectional, ``layer`` for TimeDistributed, and a
subclassed model's own attributes by their names. A layer reached a second time is skipped.

The legacy tf.keras format (``.h5``) keeps one group per top-level layer, listed in the
``layer_names`` attribute, each with its ``weight_names``; weights are matched to the model's
layers by position (``keras/src/legacy/saving/legacy_h5_format.py``,
``load_weights_from_hdf5_group``), each layer's trainable weights first.

chainrule keeps a few weights where Keras keeps a sublayer: LSTM, GRU and SimpleRNN own their
cell's weights (Keras: ``cell/vars``), and MultiHeadAttention holds its projections in private
attributes whose public names Keras walks.
"""

from chainrule import layers
from chainrule.layers.layer import _UNTRACKED
from chainrule.layers.rnn.rnn import FusedRNN
from chainrule.models.functional import Functional
from chainrule.models.model import Model
from chainrule.models.sequential import Sequential
from chainrule.utils.naming import snake_case

# chainrule attribute -> the name Keras's walk reaches the same sublayer by (a public property)
_ATTRIBUTE_NAMES = {
    layers.MultiHeadAttention: {"_query_dense": "query_dense", "_key_dense": "key_dense",
                                "_value_dense": "value_dense", "_output_dense": "output_dense"},
}
_SKIPPED = _UNTRACKED | {"_tracking_cache", "_keras_history", "_compiled", "optimizer"}


def _join(*parts):
    return "/".join(part for part in parts if part)


def _name_key(name):
    """Keras's order of attributes: public names first, each group sorted."""
    return "~" + name if name.startswith("_") else name


def _holds_layers(value):
    if isinstance(value, layers.Layer):
        return True
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and any(
        isinstance(v, layers.Layer) or (isinstance(v, (list, tuple, dict)) and _holds_layers(v)) for v in value)


def _children(layer):
    """The (attribute, sublayer or container) pairs Keras's walk visits, in its order."""
    found = []
    if isinstance(layer, (Sequential, Functional)):
        found.append(("layers", layer.layers))
    aliases = _ATTRIBUTE_NAMES.get(type(layer), {})
    attributes = [(aliases.get(name, name), value) for name, value in vars(layer).items()
                  if name not in _SKIPPED and _holds_layers(value)]
    if isinstance(layer, Model) and not isinstance(layer, (Sequential, Functional)):
        attributes.append(("layers", layer.layers))  # Keras's Model.layers, walked with the rest
    found.extend(sorted(attributes, key=lambda pair: _name_key(pair[0])))
    return found


def _owns_cell_weights(layer):
    """A recurrent layer that keeps the weights Keras keeps in its cell (LSTM, GRU, SimpleRNN)."""
    return isinstance(layer, FusedRNN)


def layout(model):
    """Keras 3's layout of ``model``'s weights.

    Returns:
        ``[(group, name, variables)]``, one entry per layer reached (weights or none), in the
        walk's order: ``group`` is the HDF5 group of its own variables (``layers/dense/vars``),
        ``name`` the layer's name (Keras writes it as the group's ``name`` attribute) and
        ``variables`` its own variables, stored as datasets ``0``, ``1``, ... of the group.
    """
    entries, visited = [], set()

    def visit(layer, path):
        if id(layer) in visited:
            return
        visited.add(id(layer))
        own = layer._own_variables()
        if _owns_cell_weights(layer):
            entries.append((_join(path, "vars"), layer.name, []))
            entries.append((_join(path, "cell", "vars"), f"{snake_case(type(layer).__name__)}_cell", own))
        else:
            entries.append((_join(path, "vars"), layer.name, own))
        for attribute, child in _children(layer):
            walk(child, _join(path, attribute), set())

    def walk(value, path, containers):
        if isinstance(value, layers.Layer):
            visit(value, path)
            return
        if id(value) in containers:
            return
        containers.add(id(value))
        used = {}
        for item in (value.values() if isinstance(value, dict) else value):
            if isinstance(item, layers.Layer):
                base = snake_case(type(item).__name__)
            elif isinstance(item, (list, tuple, dict)):
                base = "container"
            else:
                continue
            used[base] = used.get(base, -1) + 1
            name = base if used[base] == 0 else f"{base}_{used[base]}"
            walk(item, _join(path, name), containers)

    visit(model, "")
    return entries


def dataset_paths(model):
    """``{id(variable): dataset path}`` for every weight of ``model`` in Keras 3's layout."""
    return {id(variable): f"{group}/{i}" for group, _, variables in layout(model)
            for i, variable in enumerate(variables)}


def legacy_layers(model):
    """The layers the legacy format stores, in order: ``model.layers`` (a Sequential's without
    its input), each with its weights, trainable first (tf.keras's ``_legacy_weights``)."""
    return [(layer, layer.trainable_weights + layer.non_trainable_weights) for layer in model.layers]
