"""GradientMonitor: watches gradients flow through the layers while a model trains."""

import math
import warnings

from chainrule import activations, recording
from chainrule._backend import numpy as np
from chainrule.layers import Activation, Dense
from chainrule.layers.convolutional.base_conv import BaseConv
from chainrule.layers.convolutional.base_conv_transpose import BaseConvTranspose
from chainrule.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv
from chainrule.layers.convolutional.base_separable_conv import BaseSeparableConv
from chainrule.training.callbacks import Callback

# activation -> (what "stuck" means for it, the test on its output values)
_STUCK = {
    activations.sigmoid: ("saturated sigmoid", lambda a: (a < 0.01) | (a > 0.99)),
    activations.tanh: ("saturated tanh", lambda a: np.abs(a) > 0.99),
    activations.relu: ("dead ReLU", None),  # a unit that output 0 for every sample of the batch
}
# the layers whose output is their activation's output, so that wrapping it watches every unit
_WATCHED = (Dense, Activation, BaseConv, BaseConvTranspose, BaseDepthwiseConv, BaseSeparableConv)


class GradientMonitor(Callback):
    """Records, for every layer with weights and each epoch: the gradient norm (the mean over the
    epoch's batches of the norm of all the layer's weight gradients), the update-to-weight ratio
    (how far the epoch moved the weights, relative to their size) and the fraction of stuck units
    (saturated sigmoid or tanh outputs, dead ReLUs). They go into the epoch's logs, and so into the
    History, as ``gradient_norm/<layer>``, ``update_ratio/<layer>`` and ``stuck/<layer>``; the
    progress bar leaves them out.

    It warns in plain words when the first layer's gradient is below ``vanishing`` times the
    last's (naming the stuck share), or a gradient norm passes ``exploding`` or is not finite.

    A unit is a Dense layer's unit or a convolution's filter (its channel): a dead ReLU unit
    output 0 for every sample, and every position, of the batch. Layers without weights (pooling,
    Flatten, Dropout) are not listed; a BatchNormalization is, by its gamma and beta (its moving
    statistics are not trained by gradients).

    Cost: one dot product per weight per batch, and one comparison over each watched layer's
    output; the activations of Dense, convolutional and Activation layers are wrapped during
    ``fit`` and restored afterwards (recurrent layers report gradients and updates, not stuck
    units).
    """

    def __init__(self, vanishing=1e-3, exploding=1e3, warn=True):
        super().__init__()
        self.vanishing, self.exploding, self.warn = vanishing, exploding, warn
        self.records = {}  # layer name -> {"gradient_norm": [...], "update_ratio": [...], "stuck": [...]}

    def on_train_begin(self, logs=None):
        self.layers = [layer for layer in self.model.layers if layer.trainable_weights]
        self._wrapped = []
        self._recording = True
        for layer in self.layers:
            original = getattr(layer, "activation", None)
            # only layers whose output is their activation's output; a recurrent layer applies its
            # activation inside a fused primitive, which a wrapper would turn off
            if isinstance(layer, _WATCHED) and original in _STUCK:
                layer.activation = self._recorder(layer, original)
                self._wrapped.append((layer, original))

    def _recorder(self, layer, activation):
        test = _STUCK[activation][1]
        channel_axis = 1 if getattr(layer, "data_format", None) == "channels_first" else -1

        def recorded(x):
            out = activation(x)
            # a host call, so that a recorded training step (jit_compile) observes every batch
            recording.host(self._observe, layer.name, test, channel_axis, out.data)
            return out

        return recorded

    def _observe(self, name, test, channel_axis, output):
        if self._recording:
            # (batch, ..., units) with the units (a convolution's channels) last, one row per
            # sample and position
            a = np.moveaxis(output, channel_axis, -1)
            a = a.reshape(-1, a.shape[-1])
            stuck = test(a).mean() if test is not None else (a <= 0).all(axis=0).mean()
            self._stuck[name].append(float(stuck))

    def on_test_begin(self, logs=None):
        self._recording = False

    def on_test_end(self, logs=None):
        self._recording = True

    def on_epoch_begin(self, epoch, logs=None):
        self._norms = {layer.name: [] for layer in self.layers}
        self._stuck = {layer.name: [] for layer in self.layers}
        self._start = {layer.name: [w.data.copy() for w in layer.trainable_weights] for layer in self.layers}

    def on_train_batch_end(self, batch, logs=None):
        for layer in self.layers:
            grads = [w.grad for w in layer.trainable_weights if w.grad is not None]
            if grads:
                self._norms[layer.name].append(math.sqrt(sum(float(np.vdot(g, g)) for g in grads)))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        summary = []
        for layer in self.layers:
            name = layer.name
            norm = float(np.mean(self._norms[name])) if self._norms[name] else float("nan")
            moved = math.sqrt(sum(float(np.vdot(w.data - s, w.data - s))
                                  for w, s in zip(layer.trainable_weights, self._start[name])))
            size = math.sqrt(sum(float(np.vdot(s, s)) for s in self._start[name]))
            stuck = float(np.mean(self._stuck[name])) if self._stuck[name] else float("nan")
            record = self.records.setdefault(name, {"gradient_norm": [], "update_ratio": [], "stuck": []})
            for key, value in (("gradient_norm", norm), ("update_ratio", moved / size if size else 0.0),
                               ("stuck", stuck)):
                record[key].append(value)
                logs[f"{key}/{name}"] = value
            summary.append((name, norm, stuck, layer))
        if self.warn:
            self._warn(epoch, summary)

    def _warn(self, epoch, summary):
        for name, norm, _, _ in summary:
            if not math.isfinite(norm) or norm > self.exploding:
                warnings.warn(f"epoch {epoch + 1}: layer {name}'s gradient norm is {norm:.3g}: gradients "
                              f"are exploding; lower the learning rate or clip them (clipnorm=...)",
                              stacklevel=2)
                return
        if len(summary) < 2:
            return
        (first, first_norm, stuck, layer), (last, last_norm, _, _) = summary[0], summary[-1]
        if last_norm > 0 and first_norm / last_norm < self.vanishing:
            kind = _STUCK.get(next((orig for lay, orig in self._wrapped if lay is layer), None), ("unit",))[0]
            detail = f": {stuck:.0%} of its {kind} units are stuck" if math.isfinite(stuck) else ""
            warnings.warn(f"epoch {epoch + 1}: layer 1 ({first})'s gradient is {first_norm / last_norm:.0e} "
                          f"of layer {len(summary)} ({last})'s{detail}; gradients are vanishing "
                          f"(try relu with he_normal initialization)", stacklevel=2)

    def on_train_end(self, logs=None):
        for layer, original in self._wrapped:
            layer.activation = original
        self._wrapped = []
