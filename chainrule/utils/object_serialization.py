"""Keras's descriptions of small configurable objects (regularizers, constraints,
initializers): ``{"module", "class_name", "config", "registered_name"}``, written from an object
and read back into one.

Reading looks a name up only in the caller's ``custom_objects``, the registered objects
(:func:`chainrule.saving.register_keras_serializable`) and the module's own table of classes: a
name in a file is never imported.
"""

import inspect


def _registered():
    from chainrule.saving.serialization import get_custom_objects  # saving imports the layers

    return get_custom_objects()


def _registered_name(obj):
    """The name ``obj`` (a class or function) is registered under, or None."""
    for name, value in _registered().items():
        if value is obj:
            return name
    return None


def serialize_object(obj, table, module):
    if obj is None:
        return None
    if inspect.isfunction(obj):
        name = _registered_name(obj) or obj.__name__
        return {"module": obj.__module__, "class_name": "function", "config": name,
                "registered_name": name}
    cls = type(obj)
    if table.get(cls.__name__) is cls:
        return {"module": module, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": None}
    return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
            "registered_name": _registered_name(cls) or cls.__name__}


def deserialize_object(config, table, kind, custom_objects=None):
    """The object a description names, found only in ``custom_objects``, the registered objects
    and ``table`` (chainrule's classes): a name in a file is never imported."""
    def lookup(*names):
        # Keras writes a custom object's registered name as "package>Name"; chainrule registers "Name"
        names = [n for name in names if isinstance(name, str) for n in (name, name.rpartition(">")[2])]
        for source in (custom_objects or {}, _registered(), table):
            for name in names:
                if name in source:
                    return source[name]
        name = names[-1] if names else None
        raise ValueError(f"Could not interpret {kind} identifier: unknown {kind} {name!r}; it is neither "
                         f"one of chainrule's ({', '.join(sorted(table))}) nor registered (register it "
                         f"with chainrule.saving.register_keras_serializable or pass custom_objects)")

    if config is None:
        return None
    if isinstance(config, str):
        found = lookup(config)
        return found() if inspect.isclass(found) else found
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret {kind} identifier: expected a name or a dict with "
                         f"'class_name' and 'config', received {config!r}")
    class_name = config["class_name"]
    inner = config.get("config", {})
    if class_name == "function":
        found = lookup(config.get("registered_name"), inner)
        if inspect.isclass(found):
            raise ValueError(f"Could not interpret {kind} identifier: {inner!r} names a class, "
                             f"not a function")
        return found
    found = lookup(config.get("registered_name"), class_name)
    if not inspect.isclass(found):
        raise ValueError(f"Could not interpret {kind} identifier: {class_name!r} is not a class")
    if not isinstance(inner, dict):
        raise ValueError(f"Could not interpret {kind} identifier: the config of {class_name} must be "
                         f"a dict, received {inner!r}")
    return found.from_config(inner)


def get_object(identifier, table, kind, where=None):
    if identifier is None:
        return None
    prefix = f"{where}: " if where else ""
    if isinstance(identifier, dict):
        try:
            found = deserialize_object(identifier, table, kind)
        except (TypeError, ValueError) as error:  # a bad config: the constructor's own message
            raise ValueError(f"{prefix}{error}") from None
    elif isinstance(identifier, str):
        found = table.get(identifier)
    else:
        found = identifier
    if callable(found):
        return found() if inspect.isclass(found) else found
    if isinstance(identifier, str):
        raise ValueError(f"{prefix}Could not interpret {kind} identifier: {identifier!r}; expected one of "
                         f"{sorted(table)}, an object or a function")
    raise ValueError(f"{prefix}Could not interpret {kind} identifier: {identifier!r}")
