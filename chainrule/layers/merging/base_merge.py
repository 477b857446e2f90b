"""Merge: the base of the layers that combine a list of tensors into one.

The elementwise merges (Add, Subtract, Multiply, Average, Maximum, Minimum) follow Keras's
broadcasting rule: the shapes are aligned at their last axis, the batch axis aside, and a size of
1 or None fits any other size. An input of lower rank gains size-1 axes right after its batch
axis, so ``(batch, 3)`` meets ``(batch, 2, 3)`` as ``(batch, 1, 3)``.
"""

from chainrule._backend import xp
from chainrule.layers.layer import Layer, format_shape, shape_tuple
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor, reshape


def mask_array(mask):
    """A mask (a Tensor or an array) as a NumPy bool array."""
    return xp.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(bool, copy=False)


def check_masks(layer, inputs, mask):
    """Keras's checks of the masks given to a merge layer: a list, one per input."""
    if not isinstance(mask, (tuple, list)):
        raise ValueError(f"{layer.describe()}: mask should be a list (one mask or None per input), "
                         f"received {mask!r}")
    if not isinstance(inputs, (tuple, list)):
        raise ValueError(f"{layer.describe()}: inputs should be a list, received {inputs!r}")
    if len(mask) != len(inputs):
        raise ValueError(f"{layer.describe()}: the lists of inputs and masks should have the same "
                         f"length, received {len(inputs)} inputs and {len(mask)} masks")


class Merge(Layer):
    """Base class of the merge layers, which are called on a list of tensors: ``layer([a, b])``.

    A subclass writes ``_merge_function(inputs)``, the math on a list of tensors of one rank;
    Concatenate and Dot override ``compute_output_shape`` and ``call`` with rules of their own.
    Merge layers have no weights.

    Args:
        **kwargs: the base Layer's arguments (``name``, ``dtype``...).
    """

    min_inputs = 1  # Keras 3 accepts a single input (passed through the merge)
    max_inputs = None  # no limit

    def _merge_function(self, inputs):
        raise NotImplementedError

    # --- checks shared by every merge layer ---------------------------------------------------

    def _input_shapes(self, input_shape):
        """``input_shape`` as a list of shape tuples, after checking it is a list of the allowed
        length whose shapes each have a batch axis."""
        if not isinstance(input_shape, (list, tuple)) or not all(
                isinstance(shape, (list, tuple)) for shape in input_shape):
            raise ValueError(f"{self.describe()} should be called on a list of tensors, received "
                             f"input shape {input_shape!r} (not a list of shapes)")
        shapes = [shape_tuple(shape, f"{self.describe()}: input {i}") for i, shape in enumerate(input_shape)]
        self._check_count(len(shapes), [format_shape(shape) for shape in shapes])
        for i, shape in enumerate(shapes):
            if not shape:
                raise ValueError(f"{self.describe()}: input {i} has shape (), expected a batch "
                                 f"axis first (at least rank 1)")
        return shapes

    def _check_count(self, count, received):
        if self.max_inputs == self.min_inputs and count != self.min_inputs:
            expected = f"exactly {self.min_inputs}"
        elif count < self.min_inputs:
            expected = f"at least {self.min_inputs}"
        elif self.max_inputs is not None and count > self.max_inputs:
            expected = f"at most {self.max_inputs}"
        else:
            return
        raise ValueError(f"{self.describe()} should be called on a list of {expected} inputs, "
                         f"received {count}: {', '.join(received) or 'none'}")

    def _batch_size(self, shapes):
        """The one known batch size of ``shapes`` (None when none is known)."""
        sizes = {shape[0] for shape in shapes} - {None}
        if len(sizes) > 1:
            raise ValueError(f"{self.describe()} cannot merge tensors with different batch sizes; "
                             f"received shapes {', '.join(format_shape(s) for s in shapes)}")
        return sizes.pop() if sizes else None

    def _tensor_list(self, inputs):
        """``inputs`` (a list or tuple) as a list of tensors."""
        if not isinstance(inputs, (list, tuple)):
            received = f"a tensor of shape {inputs.shape}" if hasattr(inputs, "shape") else repr(inputs)
            raise ValueError(f"{self.describe()} should be called on a list of tensors, "
                             f"received {received}")
        return [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]

    # --- the elementwise merges ---------------------------------------------------------------

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # the checks alone: a merge layer has no weights

    def compute_output_shape(self, input_shape):
        shapes = self._input_shapes(input_shape)
        batch = self._batch_size(shapes)
        output = ()
        for shape in shapes:
            output = self._broadcast(output, shape[1:], shapes)
        return (batch,) + output

    def _broadcast(self, shape1, shape2, shapes):
        """The shape of an elementwise result of samples of ``shape1`` and ``shape2``, aligned at
        their last axis; None or 1 fits any size (Keras's rule)."""
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        lead = len(shape1) - len(shape2)
        output = list(shape1[:lead])
        for i, j in zip(shape1[lead:], shape2):
            if i is None or j is None:
                output.append(None)
            elif i == 1 or j == 1 or i == j:
                output.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f"{self.describe()} received inputs of incompatible shapes "
                    f"{', '.join(format_shape(s) for s in shapes)}: samples of shapes "
                    f"{format_shape(shape1)} and {format_shape(shape2)} do not broadcast (each axis, "
                    f"counted from the last, needs equal sizes, or 1, or None)"
                )
        return tuple(output)

    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """Keras's rule for the elementwise merges: when every input carries a mask, a step is
        kept where any input keeps it (their logical or); else no mask."""
        if mask is None:
            return None
        check_masks(self, inputs, mask)
        if any(m is None for m in mask):
            return None
        if any(isinstance(m, KerasTensor) for m in mask):
            return KerasTensor(mask[0].shape, "bool")
        output = mask_array(mask[0])
        for m in mask[1:]:
            output = xp.logical_or(output, mask_array(m))
        return Tensor(output)

    def call(self, inputs):
        inputs = self._tensor_list(inputs)
        self.compute_output_shape([x.shape for x in inputs])  # names the layer in shape errors
        rank = max(x.ndim for x in inputs)
        # (batch, 3) -> (batch, 1, 3) to meet (batch, 2, 3): size-1 axes after the batch axis
        inputs = [x if x.ndim == rank else reshape(x, x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])
                  for x in inputs]
        return self._merge_function(inputs)
