"""The regularizer and constraint arguments a weighted layer shares (``kernel_regularizer``,
``bias_constraint``...): resolved once in ``__init__`` (so a bad name fails there), passed to
:meth:`Layer.add_weight` in ``build``, written into ``get_config`` in Keras's serialized form."""

from chainrule import constraints, regularizers


def set_penalties(layer, **named):
    """Sets ``layer.<name>`` to the regularizer (a name ending in ``_regularizer``) or the
    constraint (ending in ``_constraint``) each argument stands for.

    Raises:
        ValueError: for an argument neither kind can interpret, naming the layer and argument.
    """
    for name, value in named.items():
        kind = regularizers if name.endswith("_regularizer") else constraints
        setattr(layer, name, kind.get(value, where=f"{layer.describe()}: {name}"))


def penalties_config(layer, *names):
    """``{name: serialized value}`` for ``layer``'s regularizer and constraint attributes."""
    return {name: (regularizers if name.endswith("_regularizer") else constraints).serialize(getattr(layer, name))
            for name in names}
