"""Each process of a job takes its share of the machine's cores for its BLAS threads, unless the
user chose a count; without a job nothing changes."""

import json
import os
import subprocess
import sys

import pytest

from chainrule.distribution import threads
from tests.distribution import mpi


def test_set_and_get_round_trip():
    start = threads.get_num_threads()
    if start is None:
        pytest.skip("no BLAS library with a thread setter is loaded")
    try:
        assert threads.set_num_threads(1) and threads.get_num_threads() == 1
    finally:
        threads.set_num_threads(start)
    assert threads.get_num_threads() == start


def test_share_of_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert [threads.share_of_cores(n) for n in (1, 2, 3, 4, 16, 32)] == [16, 8, 5, 4, 1, 1]
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3, 4}, raising=False)
    assert threads.share_of_cores(4) == 2  # bound by the launcher: its cores are the share


def test_a_user_count_is_left_alone(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.limit_for_job(2) is None
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.limit_for_job(1) is None  # one process: nothing to share


def _job(tmp_path, env_threads, *mpirun_flags):
    mpi.require_mpi()
    env = mpi.environment()
    env.pop("OMP_NUM_THREADS")
    if env_threads is not None:
        env["OMP_NUM_THREADS"] = env_threads
    command = [mpi.mpirun(), "-np", "2", "--oversubscribe", *mpirun_flags, sys.executable,
               str(mpi.WORKERS / "blas_threads.py"), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((tmp_path / f"threads_{rank}.json").read_text()) for rank in (0, 1)]


def test_two_unbound_processes_split_the_cores(tmp_path):
    for report in _job(tmp_path, None, "--bind-to", "none"):
        assert report["allowed"] == report["cores"]
        if report["before"] is not None:
            assert report["after"] == max(1, report["cores"] // 2)


def test_a_job_with_omp_num_threads_keeps_it(tmp_path):
    for report in _job(tmp_path, "2", "--bind-to", "none"):
        assert report["after"] == report["before"] == 2
