"""Running a worker script on several processes under ``mpirun``, from a test.

Each test starts ``mpirun -np N python3 workers/<name>.py <out dir> <args>``; the worker trains
on N processes and writes what it found (weights, logs) to files named by its rank, which the
test compares with a single-process run or a hand computation. Tests skip when mpi4py or an
``mpirun`` is not installed (``pip install ".[mpi]"`` installs both; CI installs them with the
test extra). As root, Open MPI refuses to start without OMPI_ALLOW_RUN_AS_ROOT=1 and
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, which :func:`run` sets.

A process that dies mid-job ends the job without any option: an uncaught exception calls
``MPI_Abort`` (chainrule's excepthook), and Open MPI 5's launcher (prterun) ends the job as soon
as a process exits with a non-zero status or on a signal (checked with ``os._exit`` and SIGKILL
in the middle of a fit: the job ends in about a second, exit status 1 or 137). No MCA option
helps the one case that hangs, ``sys.exit()`` on one process: no excepthook sees a SystemExit,
and Python's exit then waits in ``MPI_Finalize`` (a fence over every process) while the others
wait for it in an Allreduce, so the launcher sees no process end; chainrule aborts the job
itself when a SystemExit leaves ``fit`` (``distributed.leaving_ends_the_job``). A job that still
hangs is killed by :func:`run` after its timeout, mpirun and workers alike.
"""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.distribution.communicator import find_mpirun

WORKERS = Path(__file__).parent / "workers"
REPO = Path(__file__).resolve().parents[2]


def mpirun():
    """The ``mpirun`` the ``chainrule`` command would start (beside this Python, or on the PATH)."""
    return find_mpirun()


def require_mpi():
    if importlib.util.find_spec("mpi4py") is None or mpirun() is None:
        pytest.skip("needs mpi4py and mpirun: pip install '.[mpi]'")


def environment(threads=1):
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join(
                   [str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p]))
    return env


def run(worker, processes, out_dir, *args, timeout=180, check=True):
    """Runs ``workers/<worker>.py out_dir *args`` on ``processes`` processes; returns the
    CompletedProcess (stdout and stderr as text). ``check``: fail the test on a non-zero exit.
    A job still running after ``timeout`` seconds is killed, mpirun and workers alike, and the
    test fails saying it hung."""
    require_mpi()
    command = [mpirun(), "-np", str(processes), "--oversubscribe", sys.executable,
               str(WORKERS / f"{worker}.py"), str(out_dir), *map(str, args)]
    return _run(command, out_dir, timeout, check)


def run_single(worker, out_dir, *args, timeout=180):
    """The same worker in one process, started without mpirun (no MPI at all)."""
    command = [sys.executable, str(WORKERS / f"{worker}.py"), str(out_dir), *map(str, args)]
    return _run(command, out_dir, timeout, True)


def _run(command, out_dir, timeout, check):
    # a session of its own, so that a timeout ends mpirun and every process it started (a
    # plain subprocess.run would kill mpirun alone and leave the workers behind)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=environment(), cwd=str(out_dir),
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{' '.join(command)} was still running after {timeout} s (a hang):\n"
                    f"{stdout[-4000:]}\n{stderr[-4000:]}")
    if check and process.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {process.returncode}:\n"
                    f"{stdout[-4000:]}\n{stderr[-4000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
