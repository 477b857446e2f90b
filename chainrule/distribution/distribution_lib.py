"""Keras 3's ``keras.distribution`` names, for data-parallel training on MPI.

A program joins the job and chooses data parallelism as in Keras::

    keras.distribution.initialize()
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=256)          # 256 is the global batch

and is started as ``mpirun -np 4 python train.py``. Each process holds the whole model; every
global batch is split into contiguous shards, one per process; the gradients of the shards are
summed across processes (weighted by each shard's size, so the sum is the gradient of the whole
batch) before every optimizer update, so the weights stay identical on every process. In one
process (no ``mpirun``) everything here is a no-op and mpi4py is not imported.

What the training loop does with a distribution (sharding, global metrics, callbacks on rank 0)
is in :mod:`chainrule.training.distributed`; this module is the transport-facing half: which
process holds which rows, the gradients' reduction, broadcasts from rank 0.
"""

import contextlib
import warnings

from chainrule import _backend
from chainrule._backend import numpy as np
from chainrule.distribution import threads
from chainrule.distribution.communicator import (LocalCommunicator, launched_by_mpi,
                                                 mpi_communicator)

_communicator = None
_distribution = None


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Joins the MPI job this process was started in (``mpirun``/``mpiexec``/``srun``); in a
    process started otherwise, a job of one process, and mpi4py is not imported.

    Joining sets this process's BLAS thread count to its share of the machine's cores (unless
    ``OMP_NUM_THREADS`` or ``OPENBLAS_NUM_THREADS`` is set; see
    :mod:`chainrule.distribution.threads`) and gives it its own random stream (rank 0 keeps the
    stream a single process would have). Calling it again does nothing.

    Args:
        job_addresses: Keras's coordinator addresses for JAX; MPI's launcher places the
            processes, so they are not used (a warning says so).
        num_processes, process_id: when given, checked against the job's size and this
            process's rank.

    Raises:
        ImportError: under an MPI launcher without mpi4py installed.
        ValueError: when ``num_processes`` or ``process_id`` disagrees with the job.
    """
    global _communicator
    if _communicator is None:
        _communicator = mpi_communicator() if launched_by_mpi() else LocalCommunicator()
        _backend.set_process_index(_communicator.rank)
        threads.limit_for_job(_communicator.local_size)
    if job_addresses is not None:
        warnings.warn("initialize: job_addresses is not used: chainrule's processes are placed "
                      "by the MPI launcher (mpirun's host list)", stacklevel=2)
    for value, actual, name in ((num_processes, _communicator.size, "num_processes"),
                                (process_id, _communicator.rank, "process_id")):
        if value is not None and value != actual:
            raise ValueError(f"initialize: {name}={value!r}, but the MPI job gives {actual} "
                             f"(started with {_communicator.size} processes)")


def communicator():
    """This process's :class:`~chainrule.distribution.communicator.LocalCommunicator` or
    ``MPICommunicator``, joining the job first if :func:`initialize` was not called."""
    if _communicator is None:
        initialize()
    return _communicator


def num_processes():
    return communicator().size


def process_id():
    return communicator().rank


def list_devices(device_type=None):
    """The job's devices as Keras names them, one CPU per process: ``["cpu:0", "cpu:1", ...]``.

    Raises:
        ValueError: for a device type other than ``"cpu"`` (chainrule computes on CPUs).
    """
    if device_type is not None and str(device_type).lower() != "cpu":
        raise ValueError(f"list_devices: chainrule runs on CPUs, one per process; received "
                         f"device_type={device_type!r}")
    return [f"cpu:{rank}" for rank in range(communicator().size)]


class DeviceMesh:
    """Keras's mesh of devices: ``shape``, ``axis_names`` and the ``devices`` in it. Data
    parallelism uses a one-axis mesh over every process."""

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(shape)
        axis_names = list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} and axis_names {axis_names} must have "
                             f"the same length")
        devices = list_devices() if devices is None else list(np.asarray(devices).reshape(-1))
        if int(np.prod(shape)) != len(devices):
            raise ValueError(f"DeviceMesh: a mesh of shape {shape} holds {int(np.prod(shape))} "
                             f"devices, received {len(devices)}")
        self.shape, self.axis_names = shape, axis_names
        self.devices = np.asarray(devices, dtype=object).reshape(shape)


class Distribution:
    """The base of the ways to distribute training; :meth:`scope` sets one for a block."""

    def __init__(self, device_mesh):
        self.device_mesh = device_mesh

    @contextlib.contextmanager
    def scope(self):
        """Makes this the distribution inside the ``with`` block."""
        global _distribution
        previous, _distribution = _distribution, self
        try:
            yield self
        finally:
            _distribution = previous


class DataParallel(Distribution):
    """Data parallelism: the model on every process, each global batch split among them.

    Args:
        device_mesh: a one-axis :class:`DeviceMesh` over every process (Keras's way), or None.
        devices: the devices to use, by default :func:`list_devices`: every process of the
            job (chainrule's processes are its devices; it cannot leave one out).
        auto_shard_dataset: accepted for Keras; every input is sharded by the training loop.

    Raises:
        ValueError: when the devices are not exactly the job's processes, or the mesh has more
            than one axis.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        comm = communicator()
        if device_mesh is None:
            devices = list_devices() if devices is None else list(np.asarray(devices).reshape(-1))
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        if not isinstance(device_mesh, DeviceMesh) or len(device_mesh.shape) != 1:
            raise ValueError(f"DataParallel: expected a one-axis DeviceMesh, received "
                             f"{device_mesh!r}")
        if device_mesh.devices.size != comm.size:
            raise ValueError(f"DataParallel: chainrule runs one process per device, and this "
                             f"job has {comm.size} processes; received "
                             f"{device_mesh.devices.size} devices "
                             f"({[str(device) for device in device_mesh.devices.reshape(-1)]})")
        super().__init__(device_mesh)
        self.batch_dim_name = device_mesh.axis_names[0]
        self.auto_shard_dataset = auto_shard_dataset
        self.communicator = comm
        self._step_weight = None

    def __repr__(self):
        return f"<DataParallel over {self.num_processes} processes (this is {self.rank})>"

    @property
    def num_processes(self):
        return self.communicator.size

    @property
    def rank(self):
        return self.communicator.rank

    @property
    def is_root(self):
        return self.communicator.rank == 0

    # --- who holds which rows --------------------------------------------------------------

    def shard_bounds(self, n, rank=None):
        """``(start, stop)`` of this process's rows of a batch of ``n``: contiguous shards, the
        first ``n % processes`` one row longer (so a process may hold none)."""
        rank = self.rank if rank is None else rank
        size, extra = divmod(n, self.num_processes)
        start = rank * size + min(rank, extra)
        return start, start + size + (1 if rank < extra else 0)

    def permutation(self, n):
        """A shuffled order of ``range(n)``, drawn by rank 0 from its generator (the draw one
        process would make) and sent to every process, so all read the same batches."""
        order = _backend.rng().permutation(n) if self.is_root else np.empty(n, dtype=np.int64)
        return self.communicator.broadcast_(np.ascontiguousarray(order, dtype=np.int64))

    # --- one step ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, local_samples, global_samples):
        """Inside, gradients are weighted by ``local_samples / global_samples``: each process's
        loss is a mean over its shard, so the weighted sum is the mean over the whole batch."""
        previous = self._step_weight
        self._step_weight = local_samples / global_samples
        try:
            yield
        finally:
            self._step_weight = previous

    @property
    def step_weight(self):
        """This process's share of the step's batch (``1 / processes`` outside :meth:`step`:
        a custom loop's gradients are averaged)."""
        return 1.0 / self.num_processes if self._step_weight is None else self._step_weight

    def reduce_gradients(self, grads, variables):
        """The gradients of the whole batch, from this process's gradients of its shard: each
        weighted by :attr:`step_weight` and summed across processes, one ``Allreduce`` of one
        flat buffer per dtype (float32 and float64 separately). A variable no process has a
        gradient for stays None (its slot in the buffer carries a count of who has one).

        Returns:
            A list of arrays (or None), one per variable, the same on every process.
        """
        weight = self.step_weight
        groups = {}
        for index, variable in enumerate(variables):
            groups.setdefault(np.dtype(variable.dtype).name, []).append(index)
        reduced = [None] * len(variables)
        for dtype in sorted(groups):  # the same order on every process
            indices = groups[dtype]
            sizes = [int(np.prod(variables[i].shape)) for i in indices]
            total = sum(sizes)
            buffer = np.empty(total + len(indices), dtype=dtype)
            offset = 0
            for slot, (i, size) in enumerate(zip(indices, sizes)):
                grad = grads[i]
                part = buffer[offset:offset + size]
                if grad is None:
                    part.fill(0)
                    buffer[total + slot] = 0
                else:
                    np.multiply(np.asarray(grad).reshape(-1), weight, out=part, casting="unsafe")
                    buffer[total + slot] = 1
                offset += size
            self.communicator.allreduce_(buffer)
            offset = 0
            for slot, (i, size) in enumerate(zip(indices, sizes)):
                if buffer[total + slot] > 0:
                    reduced[i] = buffer[offset:offset + size].reshape(variables[i].shape)
                offset += size
        return reduced

    def broadcast_arrays(self, arrays):
        """Overwrites every array in ``arrays`` (in place) with rank 0's, one ``Bcast`` of one
        flat buffer per dtype."""
        groups = {}
        for array in arrays:
            groups.setdefault(array.dtype.name, []).append(array)
        for dtype in sorted(groups):
            members = groups[dtype]
            buffer = np.concatenate([a.reshape(-1) for a in members]) if members else None
            self.communicator.broadcast_(np.ascontiguousarray(buffer))
            offset = 0
            for array in members:
                array[...] = buffer[offset:offset + array.size].reshape(array.shape)
                offset += array.size


class ModelParallel(Distribution):
    """Keras's model parallelism (weights split across devices by a layout map). chainrule
    distributes data only; this class says so."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("ModelParallel: chainrule trains data-parallel only (every "
                                  "process holds the whole model); use DataParallel()")


def set_distribution(value):
    """Sets the distribution ``fit``, ``evaluate`` and ``predict`` use (None: none).

    Raises:
        TypeError: for anything but a Distribution or None.
    """
    global _distribution
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution: expected a Distribution (DataParallel()) or None, "
                        f"received {type(value).__name__}")
    _distribution = value


def distribution():
    """The distribution set by :func:`set_distribution` or a :meth:`Distribution.scope`, or None."""
    return _distribution


def active_data_parallel():
    """The distribution when it is data parallelism over several processes, else None: what the
    training loop and the optimizer ask before doing anything distributed."""
    current = _distribution
    if isinstance(current, DataParallel) and current.num_processes > 1:
        return current
    return None
