"""The training loop: fit, evaluate, predict and the single-batch versions.

The model's ``train_step(data)`` is the heart of it (forward pass, loss, backward pass,
optimizer update; see :meth:`chainrule.models.Model.train_step`). Around it the loop batches
and shuffles the data (arrays, or lists and dicts of them for several inputs and outputs),
resets the metrics each epoch, validates at the end of each epoch and calls the callbacks.
Evaluation and prediction run under ``no_grad``, so they build no graph.

The data may also come as batches: a Python generator, any other iterable (a
``torch.utils.data.DataLoader``; duck-typed, nothing is imported) or a
:class:`chainrule.utils.PyDataset`, each batch ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``
of anything NumPy converts. Each batch is checked as arrays are, its errors naming the epoch and
batch. Epochs follow Keras's ``EpochIterator`` (:class:`chainrule.training.data.EpochIterator`):
a whole pass each, or ``steps_per_epoch`` batches carrying on through the data, with Keras's
"Your input ran out of data" warning when it runs short. ``batch_size`` is then ignored, as
Keras ignores it; ``y``, ``sample_weight`` and (but for a PyDataset) ``class_weight`` belong in
the batches and are refused, as Keras refuses them. A PyDataset's ``workers`` are not used: its
batches are built in the training thread, in order (see its docstring).

Under a data-parallel distribution over several processes (:mod:`chainrule.distribution`),
each step, evaluation batch and prediction batch runs on this process's shard of the global
batch, and the logs are the whole batch's (:mod:`chainrule.training.distributed`); only rank 0
prints and writes files.

Everything the caller passes is checked before the first step (a stream's batches, as each
comes). A training step is shielded
from Ctrl-C, so an interruption (or an exception from a callback) leaves the weights as they
were after the last completed step, never half-updated.
"""

import contextlib
import itertools
import numbers
import signal
import threading
import warnings

from chainrule.autograd import no_grad
from chainrule import _backend
from chainrule.distribution.distribution_lib import active_data_parallel
from chainrule._backend import numpy as np
from chainrule.tensor import Tensor, data_of
from chainrule.training import data, distributed as data_parallel
from chainrule.training.callbacks import CallbackList, History, ProgbarLogger
from chainrule.training.compile import match_outputs
from chainrule.training.progbar import Progbar
from chainrule.utils import tree
from chainrule.utils.data import pack_x_y_sample_weight, unpack_x_y_sample_weight


class InterruptGuard:
    """Holds back Ctrl-C (SIGINT) that arrives during an optimizer update until the update is
    complete, so the weights and optimizer state are never left half-updated. Outside updates,
    Ctrl-C interrupts at once. Only active in the main thread with Python's default handler."""

    def __init__(self):
        self.updating = False
        self.pending = False
        self.previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handler(self, signum, frame):
        if self.updating:
            self.pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def update(self):
        self.updating = True
        try:
            yield
        finally:
            self.updating = False
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt


# --- checking the arguments -----------------------------------------------------------------


def _require_compiled(model, what):
    if getattr(model, "compiled", None) is None:
        raise RuntimeError(f"{what}: the model is not compiled; call model.compile(optimizer=..., "
                           f"loss=...) first")


def _verbose(value, what):
    if value == "auto":
        return 1
    if value not in (0, 1, 2) or isinstance(value, bool):
        raise ValueError(f"{what}: verbose must be 0, 1, 2 or 'auto', received {value!r}")
    return value


def _batch_size(value, what):
    return 32 if value is None else data.check_positive_int(value, f"{what}: batch_size")


def _steps(value, what):
    return None if value is None else data.check_positive_int(value, what)


def _arrays(value, name, dtype):
    """``value`` (an array, or a list, tuple or dict of them) with every array checked."""
    if isinstance(value, dict):
        return {key: _arrays(item, f"{name}[{key!r}]", dtype) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(item, (np.ndarray, dict, list, tuple)) or isinstance(item, Tensor) for item in value) and not all(
            isinstance(item, (list, tuple)) and not isinstance(item, np.ndarray) for item in value):
        return [_arrays(item, f"{name}[{i}]", dtype) for i, item in enumerate(value)]
    return data.to_array(value, name, dtype)


def _named_leaves(value, name):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _named_leaves(value[key], f"{name}[{key!r}]")]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _named_leaves(item, f"{name}[{i}]")]
    return [(name, value)]


def _output_names(model, outputs):
    """The names of the model's outputs for the logs: the functional model's, the dict's keys,
    or output_1, output_2... for a subclassed model that returns a list."""
    if hasattr(model, "_output_names"):
        return model._output_names
    if isinstance(outputs, dict):
        names = sorted(outputs)
    elif isinstance(outputs, (list, tuple)) and len(tree.flatten(outputs)) > 1:
        names = [f"output_{i + 1}" for i in range(len(tree.flatten(outputs)))]
    else:
        names = model.output_names
    model._output_names = names
    return names


def _prepare(model, x, y, sample_weight, what, prefix=""):
    """Arrays checked for type, length, finiteness, shape against the model and fit to the
    loss; the model built for them and its losses and metrics matched to its outputs.

    Returns:
        ``(x, y, sample_weight, number of samples)``.
    """
    dtype = model.dtype
    x = _arrays(x, f"{what}: {prefix}x", dtype)
    y = None if y is None else _arrays(y, f"{what}: {prefix}y", dtype)
    if sample_weight is not None:
        sample_weight = _arrays(sample_weight, f"{what}: {prefix}sample_weight", dtype)
        sample_weight = tree.map_structure(
            lambda w: w if w.dtype.kind == "f" else w.astype(dtype), sample_weight)
    leaves = (_named_leaves(x, f"{prefix}x") + _named_leaves(y, f"{prefix}y")
              + _named_leaves(sample_weight, f"{prefix}sample_weight"))
    if prefix.endswith(": "):  # a batch of a stream: "fit: epoch 1, batch 3: ..., x has 8, y has 7"
        data.check_same_length({name[len(prefix):]: array for name, array in leaves},
                               f"{what}: {prefix[:-2]}")
    else:
        data.check_same_length(dict(leaves))
    n = len(tree.flatten(x)[0])
    if n == 0:
        raise ValueError(f"{what}: {prefix}x holds no samples")
    for name, array in leaves:
        if array is not None:
            data.check_finite(array, f"{what}: {name}")
    from chainrule.layers.layer import Layer

    if type(model).call is Layer.call:
        # a model without call() (a GAN whose train_step drives its parts): nothing to build or
        # match; the step computes what it needs, as in Keras
        return x, y, sample_weight, n
    outputs = model.output_spec_for(x)
    compiled = model.compiled
    if compiled is not None:
        names = _output_names(model, outputs)
        output_shapes = [o.shape for o in tree.flatten(outputs)]
        targets = None
        if y is not None:
            targets = match_outputs(y, names, f"{what}: {prefix}y")
        target_shapes = [None if t is None else t.shape for t in (targets or [None] * len(names))]
        compiled.build(names, output_shapes, target_shapes, isinstance(outputs, dict))
        if compiled.compile_loss is not None and y is not None:
            # the whole of y, once: each batch's loss then checks only its shape
            compiled.compile_loss.check_targets(y, output_shapes, f"{what}: {prefix}y")
    return x, y, sample_weight, n


def _prepare_optimizer(model, what):
    """Builds the optimizer for the trainable weights before the first step, so a setting their
    dtype cannot hold fails before any work; with nothing trainable, warns (as Keras does) that
    the steps will only compute the loss and metrics."""
    variables = model.trainable_weights
    if not variables:
        if getattr(type(model).train_step, "is_default_step", False):
            warnings.warn(f"{what}: {model.describe()} has no trainable weights (every layer is "
                          f"frozen or has none); the loss and metrics are computed, nothing is "
                          f"trained", stacklevel=4)  # the user's call of fit, through Model.fit
    elif model.compiled.optimizer is not None and not model.compiled.optimizer.built:
        model.compiled.optimizer.build(variables)


def _take(structure, index):
    return None if structure is None else tree.map_structure(lambda a: a[index], structure)


def _batch(x, y, sample_weight, index):
    return pack_x_y_sample_weight(_take(x, index), _take(y, index), _take(sample_weight, index))


def _logs(values):
    """A step's returned values as the logs callbacks see (see :func:`flatten_logs`), in name
    order, as Keras hands them on (so the progress bar and ``history`` list them as Keras does:
    ``accuracy``, ``loss``, ``val_accuracy``, ``val_loss``)."""
    if not isinstance(values, dict):
        raise TypeError(f"train_step and test_step must return a dict of values by name, received "
                        f"{type(values).__name__}")
    flat = flatten_logs(values)
    return {name: flat[name] for name in sorted(flat)}


def flatten_logs(logs):
    """``logs`` as Python floats by name, dicts (the compiled metrics' results) spread into their
    entries."""
    flat = {}
    for name, value in logs.items():
        if isinstance(value, dict):
            flat.update(flatten_logs(value))
        else:
            flat[name] = _python_value(value)
    return flat


def _python_value(value):
    value = data_of(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _with_class_weight(model, y, sample_weight, class_weight):
    if class_weight is None:
        return sample_weight
    if isinstance(y, (list, dict)) and len(tree.flatten(y)) > 1:
        raise ValueError("class_weight is only supported for models with a single output; pass "
                         "sample_weight per output instead")
    y = tree.flatten(y)[0] if y is not None else None
    if y is None:
        raise ValueError("class_weight needs targets y")
    weights = data.class_weight_to_sample_weight(y, class_weight, model.dtype)
    if sample_weight is None:
        return weights
    return tree.map_structure(lambda w: w * weights.reshape((-1,) + (1,) * (w.ndim - 1)), sample_weight)


# --- batches from generators, iterables and PyDatasets ---------------------------------------


def _check_stream_args(x, y, sample_weight, class_weight, shuffle, what):
    """Refuses, as Keras does, what cannot go with ``x`` yielding batches: targets and weights
    belong in the batches. Warns, as Keras does, that a generator or DataLoader is not
    shuffled."""
    kind = data.stream_kind(x)
    for value, name, description in ((y, "y", "the targets"),
                                     (sample_weight, "sample_weight", "the sample weights")):
        if value is not None:
            raise ValueError(f"{what}: when providing `x` as a {kind}, `{name}` should not be "
                             f"passed. Instead, {description} should be included as part of the "
                             f"{kind}.")
    if class_weight is not None and kind != "PyDataset":
        raise ValueError(f"{what}: argument `class_weight` is not supported for {kind} inputs "
                         f"(only for arrays and PyDataset); give each batch its sample weights "
                         f"instead. Received: class_weight={class_weight}")
    if shuffle and kind in ("generator", "torch DataLoader"):
        warnings.warn(f"`shuffle=True` was passed, but will be ignored since the data `x` was "
                      f"provided as a {kind}. The {kind} is expected to yield already-shuffled "
                      f"data.", stacklevel=4)


def _unpack_stream_batch(raw, where):
    """A batch as yielded, ``(x,)``, ``(x, y)``, ``(x, y, sample_weight)`` (a list as a tuple,
    as Keras reads a DataLoader's ``[x, y]``) or ``x`` alone (an array or dict), unpacked."""
    if isinstance(raw, list):
        raw = tuple(raw)
    if isinstance(raw, tuple):
        if len(raw) not in (1, 2, 3):
            raise ValueError(f"{where}: expected a batch (x,), (x, y) or (x, y, sample_weight), "
                             f"received a tuple of {len(raw)} items")
        return raw + (None,) * (3 - len(raw))
    if raw is None:
        raise ValueError(f"{where}: expected a batch (x,), (x, y) or (x, y, sample_weight), "
                         f"received None")
    return raw, None, None


def _stream_batch(model, raw, what, step, epoch=None, class_weight=None):
    """One yielded batch checked and converted as arrays are (same messages, naming the
    batch), packed for the step."""
    place = f"batch {step}" if epoch is None else f"epoch {epoch + 1}, batch {step}"
    x, y, sample_weight = _unpack_stream_batch(raw, f"{what}: {place}")
    if x is None:
        raise ValueError(f"{what}: {place}: expected inputs x, received None")
    if class_weight is not None and sample_weight is not None:
        raise ValueError(f"{what}: {place}: you cannot specify `class_weight` and `sample_weight` "
                         f"at the same time (the batch holds sample weights)")
    try:
        x, y, sample_weight, _ = _prepare(model, x, y, sample_weight, what, prefix=f"{place}: ")
        sample_weight = _with_class_weight(model, y, sample_weight, class_weight)
    except ValueError as error:
        if place in str(error):
            raise
        # the model's own message (an input of the wrong shape): say which batch it was
        raise ValueError(f"{what}: {place}: {error}") from error
    return pack_x_y_sample_weight(x, y, sample_weight)


def _first(epoch_batches):
    """``(iterator over the epoch's (step, batch), its generator)``, or None when the epoch
    has no batch (its data ran out; :class:`data.EpochIterator` has warned)."""
    first = next(epoch_batches, None)
    if first is None:
        epoch_batches.close()
        return None
    return itertools.chain([first], epoch_batches), epoch_batches


def _validation_freq(value):
    """Keras's ``validation_freq``: an int (every that many epochs, counted from epoch 1) or a
    list of the (1-based) epochs to validate after."""
    if isinstance(value, (list, tuple)):
        for item in value:
            if not isinstance(item, numbers.Integral) or isinstance(item, bool) or item < 1:
                raise ValueError(f"fit: validation_freq must be a positive int or a list of "
                                 f"epoch numbers (from 1), received {value!r}")
        return frozenset(int(item) for item in value)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"fit: validation_freq must be a positive int or a list of epoch numbers "
                         f"(from 1), received {value!r}")
    return int(value)


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, frozenset):
        return epoch + 1 in validation_freq
    return (epoch + 1) % validation_freq == 0


# --- fit ------------------------------------------------------------------------------------


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, validation_batch_size=None, validation_freq=1,
        steps_per_epoch=None, validation_steps=None):
    """Trains ``model`` on ``(x, y)``, or on the batches ``x`` yields; see
    :meth:`chainrule.models.Model.fit`."""
    _require_compiled(model, "fit")
    _backend.keep_freed_memory()  # every step reuses the last one's memory (see its NOTE)
    batch_size = _batch_size(batch_size, "fit")
    verbose = _verbose(verbose, "fit")
    for name, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"fit: {name} must be a non-negative int, received {value!r}")
    if not isinstance(shuffle, bool):
        raise ValueError(f"fit: shuffle must be True or False, received {shuffle!r}")
    validation_freq = _validation_freq(validation_freq)
    validation_batch_size = (batch_size if validation_batch_size is None else
                             data.check_positive_int(validation_batch_size, "fit: validation_batch_size"))
    steps_per_epoch = _steps(steps_per_epoch, "fit: steps_per_epoch")
    validation_steps = _steps(validation_steps, "fit: validation_steps")
    if x is None:
        raise ValueError("fit: expected x, the training inputs, received None")
    distributed = active_data_parallel()
    if distributed is not None and not distributed.is_root:
        verbose = 0  # rank 0 shows the progress
    streaming = data.is_stream(x)
    first_epoch = None

    def convert(raw, step, epoch):  # a yielded batch checked and converted, as arrays are
        return _stream_batch(model, raw, "fit", step, epoch, class_weight)

    if streaming:
        _check_stream_args(x, y, sample_weight, class_weight, shuffle, "fit")
        if validation_split and validation_data is None:
            raise ValueError(f"fit: validation_split is only supported for arrays, received x as a "
                             f"{data.stream_kind(x)}; pass validation_data instead")
        train = data.EpochIterator(data.StreamBatches(x, shuffle), steps_per_epoch)
        first_epoch = _first(train.epoch())
        if first_epoch is None:
            raise ValueError(f"fit: x, a {data.stream_kind(x)}, yielded no batch; it must yield at "
                             f"least one")
        # the first batch builds the model and matches the losses to its outputs, as arrays do
        batches, generator = first_epoch
        step, raw = next(batches)
        first_epoch = itertools.chain(
            [(step, convert(raw, step, initial_epoch))],
            ((step, convert(raw, step, initial_epoch)) for step, raw in batches)), generator
    else:
        x, y, sample_weight, n = _prepare(model, x, y, sample_weight, "fit")
        sample_weight = _with_class_weight(model, y, sample_weight, class_weight)
    validation = None
    if validation_data is not None:
        if data.is_stream(validation_data):
            validation = validation_data
            _check_stream_args(validation_data, None, None, None, False, "fit: validation_data")
        elif not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or "
                             "(x_val, y_val, sample_weight_val), or a generator, iterable or "
                             "PyDataset of batches")
        else:
            validation = _prepare(model, *validation_data[:2],
                                  validation_data[2] if len(validation_data) == 3 else None,
                                  "fit", prefix="validation_data ")
    elif validation_split:
        split_at = data.validation_split_at(n, validation_split)
        head, tail = slice(None, split_at), slice(split_at, None)
        validation = (_take(x, tail), _take(y, tail), _take(sample_weight, tail), n - split_at)
        x, y, sample_weight, n = _take(x, head), _take(y, head), _take(sample_weight, head), split_at
    if not streaming:
        train = data.EpochIterator(data.ArrayBatches(x, y, sample_weight, n, batch_size, shuffle,
                                                     _batch), steps_per_epoch)
    _prepare_optimizer(model, "fit")
    if distributed is not None:
        data_parallel.check_loss(model, "fit")

    steps = train.num_batches
    history = History()
    user_callbacks = list(callbacks or [])
    if distributed is not None:
        user_callbacks = data_parallel.callbacks_for_process(user_callbacks, distributed)
    progbar = [ProgbarLogger()] if verbose else []
    # the user's callbacks first, so what they add to the logs (a learning rate) is shown and kept
    callback_list = CallbackList(user_callbacks + progbar + [history], model,
                                 {"epochs": epochs, "steps": steps, "verbose": verbose})
    model.stop_training = False
    logs = {}
    if not streaming:
        def convert(batch, step, epoch):  # arrays: batches already checked
            return batch
    # a sys.exit() on one process ends the job, not only that process (the others would wait)
    with InterruptGuard() as guard, data_parallel.leaving_ends_the_job(distributed, "fit"):
        callback_list.on_train_begin()
        # a callback that restored a backup (BackupAndRestore) says where to carry on
        start = getattr(model, "resume_epoch", None)
        model.resume_epoch = None
        if distributed is not None:
            # every process carries on from rank 0's state (its BackupAndRestore may have
            # restored one), from its first step
            start = distributed.communicator.broadcast_object(start)
            data_parallel.broadcast_model(model, distributed)
            data_parallel.restore_random_states(model, distributed)
        try:
            for epoch in range(initial_epoch if start is None else start, epochs):
                if first_epoch is not None:
                    # the stream's first epoch began before training, to build the model
                    (batches, generator), first_epoch = first_epoch, None
                else:
                    started = _first(train.epoch())
                    if started is None:  # the data ran out (warned): training ends, as Keras's
                        break
                    batches, generator = started
                    batches = ((step, convert(raw, step, epoch)) for step, raw in batches)
                model.reset_metrics()
                callback_list.on_epoch_begin(epoch)
                step_logs = {}
                try:
                    for step, batch in batches:
                        callback_list.on_train_batch_begin(step)
                        with guard.update():  # a step completes or is not taken
                            step_logs = _train_step(model, batch, distributed)
                        callback_list.on_train_batch_end(step, step_logs)
                        if model.stop_training:
                            break
                finally:
                    generator.close()  # ends the pass: a PyDataset's on_epoch_end
                logs = dict(step_logs)
                if validation is not None and _should_validate(epoch, validation_freq):
                    # validation is an evaluation: the callbacks' test hooks run, as in Keras
                    callback_list.on_test_begin()
                    val_logs = _evaluate_batches(
                        model, _evaluation_iterator(model, validation, validation_batch_size,
                                                    validation_steps),
                        callback_list=callback_list, distributed=distributed)
                    callback_list.on_test_end(val_logs)
                    logs.update({f"val_{name}": value for name, value in val_logs.items()})
                if distributed is not None:  # for a backup: every process's random stream
                    data_parallel.gather_random_states(model, distributed)
                callback_list.on_epoch_end(epoch, logs)
                if distributed is not None:
                    # the others wait for rank 0's files and follow its decision to stop (the
                    # same as theirs: the logs are the same)
                    model.stop_training = distributed.communicator.broadcast_object(
                        model.stop_training)
                if model.stop_training:
                    break
        finally:
            if first_epoch is not None:  # no epoch ran (initial_epoch >= epochs)
                first_epoch[1].close()
        # as Keras: an optimizer with use_ema writes the weights' moving averages into them
        finalize = getattr(model.compiled.optimizer, "finalize_variable_values", None)
        if finalize is not None:
            finalize(model.trainable_weights)
        callback_list.on_train_end(logs)
        if distributed is not None:
            distributed.communicator.barrier()
    history.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
    history.model = model
    model.history = history
    return history


def _train_step(model, batch, distributed, what="fit"):
    """The logs of one training step on ``batch``: on this process, or on each process's shard
    of it under data parallelism."""
    if distributed is None:
        return _logs(model.train_step(batch))
    return data_parallel.train_step(model, distributed, batch, _logs, what)


def _test_step(model, batch, distributed):
    with no_grad():
        if distributed is None:
            return _logs(model.test_step(batch))
        return data_parallel.test_step(model, distributed, batch, _logs)


def _predict_step(model, batch, distributed):
    if distributed is None:
        return tree.map_structure(lambda t: data_of(t), model.predict_step(batch))
    return data_parallel.predict_step(model, distributed, batch)


# --- evaluate and predict -------------------------------------------------------------------


def _evaluation_iterator(model, data_, batch_size, steps, what="fit: validation_data"):
    """``(EpochIterator, convert)`` over checked arrays ``(x, y, sample_weight, n)`` or a
    stream of batches, read in order."""
    if isinstance(data_, tuple):
        x, y, sample_weight, n = data_
        batches = data.ArrayBatches(x, y, sample_weight, n, batch_size, False, _batch)
        return data.EpochIterator(batches, steps), lambda batch, step: batch
    return (data.EpochIterator(data.StreamBatches(data_, False), steps),
            lambda raw, step: _stream_batch(model, raw, what, step))


def _evaluate_batches(model, iterator, progbar=None, callback_list=None, started=None,
                      distributed=None):
    """The logs of one pass of ``iterator`` (``(EpochIterator, convert)``) through test_step;
    empty when it yields no batch. ``started``: the pass already begun (see :func:`_first`)."""
    epoch_iterator, convert = iterator
    model.reset_metrics()
    logs = {}
    started = started or _first(epoch_iterator.epoch())
    if started is None:
        return logs
    batches, generator = started
    try:
        for step, raw in batches:
            batch = convert(raw, step)
            if callback_list:
                callback_list.on_test_batch_begin(step)
            logs = _test_step(model, batch, distributed)
            if callback_list:
                callback_list.on_test_batch_end(step, logs)
            if progbar:
                progbar.update(step + 1, logs)
    finally:
        generator.close()
    return logs


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             callbacks=None, return_dict=False, steps=None):
    """The loss and metrics of ``model`` on ``(x, y)``, or on the batches ``x`` yields; see
    :meth:`Model.evaluate`."""
    _require_compiled(model, "evaluate")
    batch_size = _batch_size(batch_size, "evaluate")
    verbose = _verbose(verbose, "evaluate")
    steps = _steps(steps, "evaluate: steps")
    if x is None:
        raise ValueError("evaluate: expected x, the inputs, received None")
    distributed = active_data_parallel()
    if distributed is not None and not distributed.is_root:
        verbose = 0
    started = None
    if data.is_stream(x):
        _check_stream_args(x, y, sample_weight, None, False, "evaluate")
        iterator = _evaluation_iterator(model, x, batch_size, steps, "evaluate")
        started = _first(iterator[0].epoch())
        if started is None:
            raise ValueError(f"evaluate: x, a {data.stream_kind(x)}, yielded no batch; it must "
                             f"yield at least one")
    else:
        iterator = _evaluation_iterator(model, _prepare(model, x, y, sample_weight, "evaluate"),
                                        batch_size, steps)
    total = iterator[0].num_batches
    callback_list = CallbackList(callbacks or [], model, {"steps": total, "verbose": verbose})
    progbar = Progbar(total, verbose) if verbose else None
    if distributed is not None:
        data_parallel.ensure_synchronized(model, distributed)
    with data_parallel.leaving_ends_the_job(distributed, "evaluate"):
        callback_list.on_test_begin()
        results = _evaluate_batches(model, iterator, progbar, callback_list, started, distributed)
    if progbar:
        progbar.update(progbar.seen if total is None else total, results, finalize=True)
    callback_list.on_test_end(results)
    return _returned(model, results, return_dict)


def _returned(model, results, return_dict):
    if return_dict:
        return results
    # Keras's order: the loss, each output's loss, then the metrics
    names = [m.name for m in model.metrics if m.name in results]
    names += sorted(name for name in results if name not in names)
    values = [results[name] for name in names]
    return values[0] if len(values) == 1 else values


def _concatenate(batches, spec, dtype):
    if not batches:
        return tree.map_structure(lambda o: np.zeros((0,) + tuple(d or 0 for d in o.shape[1:]),
                                                     dtype=o.dtype), spec)
    flat = [tree.flatten(batch) for batch in batches]
    arrays = [np.concatenate([data_of(b[i]) for b in flat], axis=0) for i in range(len(flat[0]))]
    return tree.pack_sequence_as(batches[0], arrays)


def _predict_inputs(model, x, name):
    """``x`` checked as predict checks it: arrays of one length, all finite."""
    x = _arrays(x, f"predict: {name}", model.dtype)
    leaves = _named_leaves(x, name)
    data.check_same_length(dict(leaves))
    for leaf, array in leaves:
        data.check_finite(array, f"predict: {leaf}")
    return x


def predict(model, x, batch_size=None, verbose="auto", callbacks=None, steps=None):
    """``model``'s outputs for ``x`` (or for the batches ``x`` yields, whose targets are
    ignored), batch by batch, as NumPy arrays."""
    batch_size = _batch_size(batch_size, "predict")
    verbose = _verbose(verbose, "predict")
    steps = _steps(steps, "predict: steps")
    distributed = active_data_parallel()
    if distributed is not None and not distributed.is_root:
        verbose = 0
    if data.is_stream(x):
        _check_stream_args(x, None, None, None, False, "predict")
        epoch_iterator = data.EpochIterator(data.StreamBatches(x, False), steps)

        def convert(raw, step):
            inputs, _, _ = _unpack_stream_batch(raw, f"predict: batch {step}")
            return pack_x_y_sample_weight(_predict_inputs(model, inputs, f"batch {step}: x"))
    else:
        x = _predict_inputs(model, x, "x")
        n = len(tree.flatten(x)[0])
        if n == 0:
            return _concatenate([], model.output_spec_for(x), model.dtype)
        epoch_iterator = data.EpochIterator(
            data.ArrayBatches(x, None, None, n, batch_size, False, _batch), steps)

        def convert(batch, step):
            return batch
    started = _first(epoch_iterator.epoch())
    if started is None:
        raise ValueError(f"predict: x, a {data.stream_kind(x)}, yielded no batch; it must yield "
                         f"at least one")
    batches, generator = started
    total = epoch_iterator.num_batches
    callback_list = CallbackList(callbacks or [], model, {"steps": total, "verbose": verbose})
    progbar = Progbar(total, verbose) if verbose else None
    if distributed is not None:
        data_parallel.ensure_synchronized(model, distributed)
    callback_list.on_predict_begin()
    outputs = []
    spec = None
    try:
        with no_grad(), data_parallel.leaving_ends_the_job(distributed, "predict"):
            for step, raw in batches:
                batch = convert(raw, step)
                if spec is None:
                    try:
                        spec = model.output_spec_for(unpack_x_y_sample_weight(batch)[0])
                    except ValueError as error:
                        if not data.is_stream(x):
                            raise
                        raise ValueError(f"predict: batch {step}: {error}") from error
                callback_list.on_predict_batch_begin(step)
                outputs.append(_predict_step(model, batch, distributed))
                callback_list.on_predict_batch_end(step, {"outputs": outputs[-1]})
                if progbar:
                    progbar.update(step + 1)
    finally:
        generator.close()
    if progbar:
        progbar.update(progbar.seen if total is None else total, finalize=True)
    callback_list.on_predict_end()
    return _concatenate(outputs, spec, model.dtype)


# --- single batches -------------------------------------------------------------------------


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    """One training step on exactly this batch; returns its loss (and metrics)."""
    _require_compiled(model, "train_on_batch")
    x, y, sample_weight, n = _prepare(model, x, y, sample_weight, "train_on_batch")
    sample_weight = _with_class_weight(model, y, sample_weight, class_weight)
    _prepare_optimizer(model, "train_on_batch")
    distributed = active_data_parallel()
    if distributed is not None:
        data_parallel.check_loss(model, "train_on_batch")
        data_parallel.ensure_synchronized(model, distributed)
    model.reset_metrics()
    with InterruptGuard() as guard, guard.update():
        logs = _train_step(model, _batch(x, y, sample_weight, slice(None)), distributed,
                           "train_on_batch")
    return _returned(model, logs, return_dict)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    """The loss (and metrics) of this batch in inference mode."""
    _require_compiled(model, "test_on_batch")
    x, y, sample_weight, n = _prepare(model, x, y, sample_weight, "test_on_batch")
    distributed = active_data_parallel()
    if distributed is not None:
        data_parallel.ensure_synchronized(model, distributed)
    model.reset_metrics()
    logs = _test_step(model, _batch(x, y, sample_weight, slice(None)), distributed)
    return _returned(model, logs, return_dict)


def predict_on_batch(model, x):
    """``model``'s outputs for this batch, as NumPy arrays."""
    x = _arrays(x, "predict_on_batch: x", model.dtype)
    model.output_spec_for(x)
    distributed = active_data_parallel()
    if distributed is not None:
        data_parallel.ensure_synchronized(model, distributed)
    with no_grad():
        return _predict_step(model, x if not isinstance(x, list) else (x,), distributed)
