"""The ``data`` a model's step receives: ``x``, ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``,
packed and unpacked as Keras's ``keras.utils.pack_x_y_sample_weight`` and
``unpack_x_y_sample_weight`` do."""


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from the ``data`` a step receives: ``x``, ``(x,)``, ``(x, y)``
    or ``(x, y, sample_weight)`` (missing parts None), as Keras unpacks it."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError(f"expected data as x, (x,), (x, y) or (x, y, sample_weight), received a tuple "
                     f"of {len(data)}")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The ``data`` a step receives for ``x``, ``y`` and ``sample_weight``: ``x`` alone when it
    is the only part (a list of inputs is wrapped as ``(x,)``), else a tuple."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)
