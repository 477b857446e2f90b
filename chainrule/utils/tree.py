"""Nested structures of values (lists, tuples, dicts), as Keras's ``tree`` walks them.

A model's inputs, outputs, targets and sample weights may each be one array or a list, tuple or
dict of them. Dicts are walked in sorted key order, as Keras (optree) walks them, so two dicts
with the same keys flatten alike whatever order they were written in.
"""


def is_nested(value):
    return isinstance(value, (list, tuple, dict))


def flatten(structure):
    """The leaves of ``structure``, depth first."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def map_structure(function, structure):
    """``structure`` with every leaf replaced by ``function(leaf)``."""
    if isinstance(structure, dict):
        return {key: map_structure(function, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        items = [map_structure(function, item) for item in structure]
        return type(structure)(items) if type(structure) in (list, tuple) else type(structure)(*items)
    return function(structure)


def pack_sequence_as(structure, leaves):
    """A structure shaped like ``structure`` holding ``leaves`` (in :func:`flatten`'s order)."""
    leaves = iter(leaves)

    def fill(template):
        if isinstance(template, dict):
            filled = {key: fill(template[key]) for key in sorted(template)}
            return {key: filled[key] for key in template}
        if isinstance(template, (list, tuple)):
            items = [fill(item) for item in template]
            return type(template)(items) if type(template) in (list, tuple) else type(template)(*items)
        return next(leaves)

    return fill(structure)
