"""Masks as Keras 3 carries them: a boolean tensor attached to a layer's output as
``_keras_mask`` (Keras's ``backend.get_keras_mask``), the rule by which ``Layer.__call__`` hands
an input's mask to the ``mask`` (or ``<argument>_mask``) parameters of a ``call``, and how a
model fits its inputs' rank to its Inputs' (which keeps their masks)."""

import inspect

from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor
from chainrule.utils import tree


def get_keras_mask(x):
    """The mask attached to ``x`` (a Tensor or KerasTensor), or None: Keras's
    ``backend.get_keras_mask``."""
    return getattr(x, "_keras_mask", None)


def masks_of(inputs):
    """The masks attached to ``inputs``: one input's mask (or None), or the list, tuple or dict
    of the masks of a structure of inputs."""
    if isinstance(inputs, (list, tuple, dict)):
        return tree.map_structure(get_keras_mask, inputs)
    return getattr(inputs, "_keras_mask", None)


def any_mask(masks):
    """Whether a mask, or any mask of a structure of them, is there."""
    return masks is not None and any(m is not None for m in tree.flatten(masks))


def is_tensor_argument(value):
    """Whether a ``call`` argument is a tensor (or a structure of tensors), as Keras counts the
    tensor arguments whose masks it passes."""
    if isinstance(value, (Tensor, KerasTensor)):
        return True
    return isinstance(value, (list, tuple, dict)) and bool(value) and all(
        isinstance(leaf, (Tensor, KerasTensor)) for leaf in tree.flatten(value))


def mask_parameters(call):
    """The names of ``call``'s parameters (after ``self``) and whether it names ``mask`` or
    ``<argument>_mask`` ones: Keras fills those in from the inputs' masks (not through
    ``**kwargs``)."""
    names = [name for name, p in inspect.signature(call).parameters.items()
             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)][1:]
    return tuple(names), any(name == "mask" or name.endswith("_mask") for name in names)


def adjust_rank(x, declared):
    """``x`` fitted to the rank of the ``declared`` shape as Keras's functional models fit their
    inputs: a trailing axis of 1 is added (a batch of scalars for an input of shape ``(1,)``)
    or dropped; anything else is left for the shape check to refuse. The mask stays. ``x`` may
    be a KerasTensor (the shape alone is fitted)."""
    if not isinstance(x, (Tensor, KerasTensor)) or declared is None or len(x.shape) == len(declared):
        return x
    if len(x.shape) == len(declared) - 1 and declared[-1] == 1:
        shape = tuple(x.shape) + (1,)
    elif len(x.shape) == len(declared) + 1 and x.shape[-1] == 1:
        shape = tuple(x.shape[:-1])
    else:
        return x
    adjusted = x.reshape(shape) if isinstance(x, Tensor) else KerasTensor(shape, x.dtype, x.name)
    adjusted._keras_mask = x._keras_mask
    return adjusted
