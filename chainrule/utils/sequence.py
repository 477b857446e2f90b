"""Padding variable-length sequences to one length, as ``keras.utils.pad_sequences``."""

from chainrule._backend import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (or truncates) each sequence to ``maxlen`` and stacks them into one array.

    Args:
        sequences: a list of sequences (lists or arrays; their items may themselves be arrays).
        maxlen: the length of the result; the longest sequence's when None.
        dtype: the dtype of the result (Keras's default, int32).
        padding: ``"pre"`` or ``"post"``: where the padding goes.
        truncating: ``"pre"`` or ``"post"``: which end of a long sequence is cut.
        value: the padding value.

    Returns:
        An array of shape ``(len(sequences), maxlen) + item_shape``.

    Raises:
        ValueError: a bad ``padding``, ``truncating`` or ``maxlen``, sequences whose items differ in
            shape, or a string padding value for a numeric dtype.
    """
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: padding must be "pre" or "post", received {padding!r}')
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: truncating must be "pre" or "post", received {truncating!r}')
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: expected a list of sequences, received {type(sequences).__name__}")
    lengths = []
    item_shape = ()
    found_item_shape = False
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: sequence {i} is a {type(s).__name__}, not a sequence")
        lengths.append(len(s))
        if not found_item_shape and len(s):
            item_shape = np.asarray(s).shape[1:]
            found_item_shape = True
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif int(maxlen) != maxlen or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be a non-negative integer or None, received {maxlen!r}")
    maxlen = int(maxlen)
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.object_)
    if isinstance(value, str) and not is_text:
        raise ValueError(f"pad_sequences: dtype {dtype} cannot hold the padding value {value!r}; use dtype=object")

    x = np.full((len(lengths), maxlen) + item_shape, value, dtype=dtype)
    if maxlen == 0:
        return x
    for i, s in enumerate(sequences):
        if not lengths[i]:
            continue  # an empty sequence is all padding
        kept = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != item_shape:
            raise ValueError(
                f"pad_sequences: the items of sequence {i} have shape {kept.shape[1:]}, those of the first "
                f"non-empty sequence {item_shape}"
            )
        if padding == "post":
            x[i, : len(kept)] = kept
        else:
            x[i, maxlen - len(kept):] = kept
    return x
