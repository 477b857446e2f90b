"""The training loop's side of data parallelism (see :mod:`chainrule.distribution`).

Every process runs the same ``fit``/``evaluate``/``predict`` on the same data; what differs:

* each global batch is split into contiguous shards, one per process (:func:`shard`); a step
  runs ``train_step`` on this process's shard, with its gradients weighted by the shard's share
  of the batch, and the optimizer sums them across processes before updating, so every process
  takes the same step, that of the whole batch. A process whose shard is empty (a last batch
  smaller than the number of processes) still joins the sum with no gradient (:func:`train_step`);
* the logs are the whole batch's: every metric's running sums (the loss tracker's included) are
  added up across processes and ``result()`` computed from the sums (:func:`global_logs`), so
  the progress bar, ``history`` and every callback's decision are the same on every process;
* the model starts from rank 0's weights and optimizer state (:func:`broadcast_model`), after
  the callbacks' ``on_train_begin`` (a BackupAndRestore on rank 0 may have restored them);
* only rank 0 prints and writes files (:func:`callbacks_for_process`); the others wait for it
  at each epoch's end.
"""

import contextlib
import warnings

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.tensor import data_of
from chainrule.utils import tree
from chainrule.utils.data import pack_x_y_sample_weight, unpack_x_y_sample_weight


def shard(distributed, batch):
    """``(this process's rows of batch, their number, the batch's number of rows)``."""
    x, y, sample_weight = unpack_x_y_sample_weight(batch)
    n = len(tree.flatten(x)[0])
    start, stop = distributed.shard_bounds(n)

    def rows(structure):
        return None if structure is None else tree.map_structure(
            lambda a: a[start:stop], structure)

    return pack_x_y_sample_weight(rows(x), rows(y), rows(sample_weight)), stop - start, n


def check_loss(model, what):
    """Refuses, before any step, a compiled loss that is not a mean over the batch: the weighted
    sum of the shards' gradients is the whole batch's only for a mean (Keras's default
    ``sum_over_batch_size``, ``mean``, or ``mean_with_sample_weight``)."""
    compile_loss = model.compiled.compile_loss if model.compiled is not None else None
    for name, loss in zip((compile_loss.output_names or []) if compile_loss else [],
                          (compile_loss.losses or []) if compile_loss else []):
        reduction = getattr(loss, "reduction", "sum_over_batch_size")
        if loss is not None and reduction in ("sum", "none", None):
            raise ValueError(f"{what}: data-parallel training needs a loss that is a mean over the "
                             f"batch (reduction 'sum_over_batch_size', 'mean' or "
                             f"'mean_with_sample_weight'); the loss of output {name!r} has "
                             f"reduction={reduction!r}")


def _synchronized_layers(model):
    return [layer for layer in model._walk_layers() if getattr(layer, "synchronized", False)]


def _check_shards(model, distributed, n, what):
    """Refuses, on every process alike (before the step), a batch that leaves a process without
    rows when that process could not join the step without them: a custom ``train_step`` (its
    collectives are its own) or a synchronized BatchNormalization (its statistics are summed in
    the forward pass)."""
    if n >= distributed.num_processes:
        return
    custom = not getattr(type(model).train_step, "is_default_step", False)
    synchronized = _synchronized_layers(model)
    if custom or synchronized:
        reason = ("a custom train_step" if custom else
                  f"{synchronized[0].describe()} (synchronized=True)")
        raise ValueError(f"{what}: a batch of {n} samples leaves some of the "
                         f"{distributed.num_processes} processes without any, and {reason} needs "
                         f"every process to hold a sample of every batch; use a batch size (and a "
                         f"last batch) of at least {distributed.num_processes}")


def train_step(model, distributed, batch, to_logs, what="fit"):
    """One data-parallel step on the global ``batch``; returns the whole batch's logs
    (``to_logs`` makes logs of what ``train_step`` returns; ``what`` names the caller in
    errors)."""
    local, count, n = shard(distributed, batch)
    _check_shards(model, distributed, n, what)
    with distributed.step(count, n):
        if count:
            logs = to_logs(model.train_step(local))
        else:
            logs = {}
            variables = model.trainable_weights
            if variables:  # nothing of its own to add, but the others' sum needs this process
                model.optimizer.apply([None] * len(variables), variables)
    return global_logs(model, distributed, logs)


def test_step(model, distributed, batch, to_logs):
    """``test_step`` on this process's shard of ``batch``; returns the whole batch's logs."""
    local, count, _ = shard(distributed, batch)
    logs = to_logs(model.test_step(local)) if count else {}
    return global_logs(model, distributed, logs)


def predict_step(model, distributed, batch):
    """``predict_step`` on this process's shard; returns the whole batch's outputs (as arrays),
    gathered in rank order, which is the batch's order."""
    local, count, _ = shard(distributed, batch)
    outputs = None
    if count:
        outputs = tree.map_structure(lambda t: data_of(t), model.predict_step(local))
    parts = [part for part in distributed.communicator.allgather_object(outputs)
             if part is not None]
    flat = [tree.flatten(part) for part in parts]
    arrays = [np.concatenate([f[i] for f in flat], axis=0) for i in range(len(flat[0]))]
    return tree.pack_sequence_as(parts[0], arrays)


def _combine(values, aggregation):
    """The processes' values of one piece of metric state, combined as its ``aggregation`` says
    (Keras's names): "mean" averages, "only_first_replica" takes rank 0's, anything else
    ("sum", a running sum's, or "none") adds up. None and empty arrays (a state made by a first
    batch this process never saw) are left out."""
    present = [v for v in values if v is not None and np.size(v) > 0]
    if not present:
        return values[0]
    if aggregation == "only_first_replica":
        return present[0]
    total = present[0]
    for value in present[1:]:
        total = total + value
    return total / len(present) if aggregation == "mean" else total


def global_logs(model, distributed, logs):
    """The logs of the whole batch (and of the epoch so far) from this process's ``logs``.

    One gather brings every process's metric states and logs. Each metric whose state is known
    (:meth:`~chainrule.metrics.Metric.state_references`) gives its result computed from the
    states combined (added up, or as a variable's ``aggregation`` says); any other value in the
    logs (a metric that keeps its state unnamed, a value a custom step returns) is averaged over
    the processes that logged it.
    """
    from chainrule.training.loop import flatten_logs

    metrics = model.metrics
    references = [metric.state_references() for metric in metrics]
    states = [[getattr(holder, name) for holder, name in refs] for refs in references]
    gathered = distributed.communicator.allgather_object((states, logs))
    combined = {}
    for index, (metric, refs) in enumerate(zip(metrics, references)):
        if not refs:
            continue
        own = states[index]
        summed = [_combine([process_states[index][i] for process_states, _ in gathered],
                           getattr(holder, "aggregation", "sum") if name == "data" else "sum")
                  for i, (holder, name) in enumerate(refs)]
        try:
            for (holder, name), value in zip(refs, summed):
                setattr(holder, name, value)
            combined.update(flatten_logs({metric.name: metric.result()}))
        finally:
            for (holder, name), value in zip(refs, own):
                setattr(holder, name, value)
    result = {}
    for _, process_logs in gathered:
        for name in process_logs:
            if name in result:
                continue
            if name in combined:
                result[name] = combined[name]
                continue
            values = [p[name] for _, p in gathered if name in p]
            try:
                result[name] = float(np.mean([float(v) for v in values]))
            except (TypeError, ValueError):
                result[name] = values[0]
    return {name: result[name] for name in sorted(result)}


@contextlib.contextmanager
def leaving_ends_the_job(distributed, where):
    """Around ``fit``/``evaluate``/``predict``: a ``sys.exit()`` on one process inside them (a
    callback's, a data generator's) ends the whole job, as an uncaught exception does, instead
    of leaving the other processes waiting for it in a collective. ``distributed`` may be None
    (nothing is done)."""
    try:
        yield
    except SystemExit as error:
        if distributed is not None:
            distributed.communicator.abort_on_exit(error, where)
        raise


def broadcast_model(model, distributed):
    """Every process takes rank 0's weights (trainable or not), optimizer slots, step count and
    learning rate."""
    arrays = [weight.data for weight in model.weights]
    optimizer = model.compiled.optimizer if getattr(model, "compiled", None) else None
    state = None
    if optimizer is not None:
        arrays += [slot for name in sorted(optimizer._slots) for slot in optimizer._slots[name]]
        learning_rate = optimizer._learning_rate
        state = {"iterations": optimizer.iterations,
                 "learning_rate": learning_rate if isinstance(learning_rate, (int, float)) else None}
    distributed.broadcast_arrays(arrays)
    state = distributed.communicator.broadcast_object(state)
    if optimizer is not None and state is not None:
        optimizer.iterations = state["iterations"]
        if state["learning_rate"] is not None:
            optimizer._learning_rate = state["learning_rate"]
    model._synchronized_with = distributed


def gather_random_states(model, distributed):
    """Keeps every process's random generator state on the model at an epoch's end (in rank
    order), where a BackupAndRestore on rank 0 finds them: resuming then gives each process its
    own stream back (its dropout masks), not only rank 0's."""
    model._process_random_states = distributed.communicator.allgather_object(
        _backend.get_rng_state())


def restore_random_states(model, distributed):
    """Gives each process its random state from a backup rank 0 restored (see
    :func:`gather_random_states`), when the backup was written by a job of this many processes."""
    states = distributed.communicator.broadcast_object(
        getattr(model, "_restored_process_random_states", None))
    model._restored_process_random_states = None
    if states is None:
        return
    if len(states) != distributed.num_processes:
        if distributed.is_root:
            warnings.warn(f"BackupAndRestore: the backup was written by {len(states)} processes "
                          f"and this job has {distributed.num_processes}; only rank 0's random "
                          f"stream is restored", stacklevel=3)
        return
    _backend.set_rng_state(states[distributed.rank])


def ensure_synchronized(model, distributed):
    """Broadcasts rank 0's model unless this distribution did since the last load."""
    if getattr(model, "_synchronized_with", None) is not distributed:
        broadcast_model(model, distributed)


def callbacks_for_process(callbacks, distributed):
    """The callbacks this process runs: all of them on rank 0; elsewhere, those that write no
    files (ModelCheckpoint, BackupAndRestore, CSVLogger mark themselves ``writes_files``)."""
    if distributed.is_root:
        return list(callbacks)
    return [callback for callback in callbacks if not getattr(callback, "writes_files", False)]
