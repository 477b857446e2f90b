"""The BLAS thread count: one share of the machine's cores for each process on it.

NumPy's matrix products run on OpenBLAS (or MKL, or Accelerate), which by default starts a
thread per core in *every* process. Several processes on one machine then run many more threads
than there are cores, and each product waits on threads that are not running (README,
"Threads", has the measured cost: 3 to 15 times slower steps). So a process that joins a job of
several sets its BLAS thread count to its share of the cores (see :func:`share_of_cores`), unless
the user chose a count with an environment variable (then nothing is changed).

The count is set through the BLAS library's own C function, found among the libraries already
loaded into the process (the way threadpoolctl finds them), as NumPy has no call for it.
"""

import ctypes
import os

# variables by which a user (or `mpirun -x OMP_NUM_THREADS=1`) has chosen the count already
USER_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# (a part of the library's file name, the setter's and getter's C names): NumPy's wheels carry
# scipy-openblas (64-bit integers, its symbols suffixed); other builds link OpenBLAS or MKL
_LIBRARIES = (
    ("openblas", ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_")),
    ("openblas", ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads")),
    ("openblas", ("openblas_set_num_threads64_", "openblas_get_num_threads64_")),
    ("openblas", ("openblas_set_num_threads", "openblas_get_num_threads")),
    ("mkl_rt", ("MKL_Set_Num_Threads", "MKL_Get_Max_Threads")),
)


def _loaded_libraries():
    """The paths of the shared libraries this process has loaded (Linux: /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if ".so" in line}
    except OSError:  # not Linux
        return []
    return sorted(path for path in paths if os.path.isabs(path))


def _blas_functions():
    """``(set, get)`` C functions of the BLAS library NumPy loaded, or None when none is found."""
    import numpy  # noqa: F401  (loads its BLAS library, if it was not loaded yet)

    for path in _loaded_libraries():
        name = os.path.basename(path).lower()
        for part, (setter, getter) in _LIBRARIES:
            if part not in name:
                continue
            try:
                library = ctypes.CDLL(path)
                return getattr(library, setter), getattr(library, getter)
            except (OSError, AttributeError):
                continue
    return None


def get_num_threads():
    """The BLAS library's thread count, or None when it cannot be read."""
    functions = _blas_functions()
    return None if functions is None else int(functions[1]())


def set_num_threads(count):
    """Sets the BLAS library's thread count; returns whether it could."""
    functions = _blas_functions()
    if functions is None:
        return False
    functions[0](int(count))
    return True


def share_of_cores(processes_on_machine):
    """The thread count for each of ``processes_on_machine`` processes: the cores this process
    may run on when the launcher bound it to some (Open MPI binds each process to a core or a
    socket by default), else the machine's cores divided evenly among the processes; at least 1."""
    machine = os.cpu_count() or 1
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else machine
    if allowed < machine:  # bound by the launcher: these cores are this process's share
        return max(1, allowed)
    return max(1, machine // max(1, processes_on_machine))


def limit_for_job(processes_on_machine):
    """Sets each process's BLAS threads to its share of the cores unless the user set a count
    in the environment. Returns the count set, or None when nothing was changed."""
    if processes_on_machine <= 1 or any(os.environ.get(name) for name in USER_VARIABLES):
        return None
    count = share_of_cores(processes_on_machine)
    return count if set_num_threads(count) else None
