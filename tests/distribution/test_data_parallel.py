"""Data-parallel training (chainrule.distribution) against one process.

Two ``mpirun`` jobs run workers/train.py, each scenario writing its weights and logs per
process: on 2 processes the 20-step MLP and LSTM in float64 and float32, the global logs with an
uneven last batch and shuffling, the checkpoint and CSV files, BackupAndRestore, dropout, a
custom train_step, sample and class weights, several inputs and outputs and streamed data; on 3
processes 2 samples (one process holds none), a custom train_step that cannot run on them, and
the logs, weights and streams again with shards of different sizes. The same worker run once
without mpirun is the reference. More jobs end a process mid-fit in four ways and check that
the job ends. The rest are unit tests of the pieces on a fake communicator, with no MPI at all.
"""

import csv
import json
import re
import types

import numpy as np
import pytest

import chainrule as keras
from chainrule.distribution import distribution_lib
from chainrule.distribution.communicator import LocalCommunicator
from tests.distribution import mpi

TWO = ("mlp", "lstm", "logs", "resume", "resume_dropout", "dropout", "custom", "weighted",
       "streams")
THREE = ("tiny", "custom_tiny", "logs", "weighted", "streams")


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    mpi.run_single("train", out, *dict.fromkeys(TWO + THREE), "plain")
    return out


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    out = tmp_path_factory.mktemp("two")
    mpi.run("train", 2, out, *TWO)
    return out


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    out = tmp_path_factory.mktemp("three")
    mpi.run("train", 3, out, *THREE)
    return out


def load(folder, name, rank=0):
    """``(arrays, values)`` a worker process wrote for one scenario."""
    with np.load(folder / f"{name}_{rank}.npz") as arrays:
        arrays = dict(arrays)
    return arrays, json.loads((folder / f"{name}_{rank}.json").read_text())


def assert_same_on_every_process(folder, name, processes):
    """Every process ends with rank 0's arrays and values, bit for bit."""
    arrays, values = load(folder, name)
    for rank in range(1, processes):
        other_arrays, other_values = load(folder, name, rank)
        assert sorted(other_arrays) == sorted(arrays)
        for key in arrays:
            np.testing.assert_array_equal(other_arrays[key], arrays[key], err_msg=f"rank {rank}")
        assert other_values == values, f"rank {rank}"
    return arrays, values


def assert_close(actual, expected, tolerance, what=""):
    assert sorted(actual) == sorted(expected), what
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=0, atol=tolerance,
                                   err_msg=f"{what} {key}")


def assert_history_close(actual, expected, tolerance):
    assert sorted(actual) == sorted(expected)
    for name in expected:
        np.testing.assert_allclose(actual[name], expected[name], rtol=0, atol=tolerance,
                                   err_msg=name)


# --- several processes equal one ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-10), ("float32", 1e-5)])
def test_twenty_adam_steps_on_two_processes_equal_one(single, two, kind, dtype, tolerance):
    arrays, values = assert_same_on_every_process(two, f"{kind}_{dtype}", 2)
    expected, expected_values = load(single, f"{kind}_{dtype}")
    assert values["iterations"] == expected_values["iterations"] == 20
    assert all(a.dtype == np.dtype(dtype) for a in arrays.values())
    assert_close(arrays, expected, tolerance, f"{kind} {dtype}")
    assert_history_close(values["history"], expected_values["history"], tolerance)


@pytest.mark.parametrize("processes", [2, 3])
def test_global_logs_with_an_uneven_last_batch_and_shuffling_equal_one_process(
        single, two, three, processes):
    # 1,000 samples at 64: a last batch of 40 (on 3 processes, shards of 22, 21, 21 and then
    # 14, 13, 13); shuffle=True: rank 0 draws each epoch's order
    folder = two if processes == 2 else three
    arrays, values = assert_same_on_every_process(folder, "logs", processes)
    expected, expected_values = load(single, "logs")
    assert_close(arrays, expected, 1e-10)
    history = values["history"]
    assert sorted(history) == ["accuracy", "batches_seen", "loss", "val_accuracy",
                               "val_batches_seen", "val_loss"]
    # a metric variable with aggregation="mean" is averaged, not added up: 16 batches an epoch
    assert history["batches_seen"][0] == expected_values["history"]["batches_seen"][0] == 16
    assert_history_close(history, expected_values["history"], 1e-10)
    # EarlyStopping stopped both processes (and one process) at the same epoch, before the last
    assert values["stopped_epoch"] == expected_values["stopped_epoch"]
    assert values["epochs"] == expected_values["epochs"] < 30
    assert_history_close(values["evaluated"], expected_values["evaluated"], 1e-10)
    # predict: every row, in order, on every process
    assert arrays["predicted"].shape == (101, 3)


@pytest.mark.parametrize("processes", [2, 3])
def test_weights_clipping_and_other_metrics_equal_one_process(single, two, three, processes):
    arrays, values = assert_same_on_every_process(two if processes == 2 else three, "weighted",
                                                  processes)
    expected, expected_values = load(single, "weighted")
    assert_close(arrays, expected, 1e-10)
    assert "auc" in values["history"] and "val_precision" in values["history"]
    for name in ("history", "on_batch", "evaluated"):
        assert_history_close(values[name], expected_values[name], 1e-10)
    # ReduceLROnPlateau (min_delta=10: no improvement after the first) halved the rate twice
    assert values["learning_rate"] == expected_values["learning_rate"] == 0.1 / 4


@pytest.mark.parametrize("processes", [2, 3])
def test_several_inputs_and_outputs_and_streamed_data_equal_one_process(single, two, three,
                                                                       processes):
    arrays, values = assert_same_on_every_process(two if processes == 2 else three, "streams",
                                                  processes)
    expected, expected_values = load(single, "streams")
    assert arrays["predicted_label"].shape == (203, 2)
    assert_close(arrays, expected, 1e-10)
    for history, expected_history in zip(values["histories"], expected_values["histories"]):
        assert_history_close(history, expected_history, 1e-10)
    assert_history_close(values["evaluated"], expected_values["evaluated"], 1e-10)


def test_checkpoint_and_csv_files_written_once_by_rank_zero(single, two):
    _, values = load(two, "logs")
    files = list((two / "checkpoints").iterdir())
    assert [file.name for file in files] == ["model.weights.h5"]
    assert (two / "saved_by").read_text().split() == ["0"] * values["epochs"]
    # the checkpoint holds the final weights, those of every process
    arrays, _ = load(two, "logs", 1)
    previous = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="tanh"),
                                  keras.layers.Dense(3)])
        model.load_weights(files[0])
    finally:
        keras.backend.set_floatx(previous)
    for index, weight in enumerate(model.get_weights()):
        np.testing.assert_array_equal(weight, arrays[f"w{index}"])
    # one CSV file, with the global logs: one process's, row by row
    assert [file.name for file in two.glob("*.csv")] == ["log.csv"]
    rows = list(csv.DictReader((two / "log.csv").open()))
    expected = list(csv.DictReader((single / "log.csv").open()))
    assert len(rows) == len(expected) == values["epochs"]
    assert [list(row) for row in rows] == [list(row) for row in expected]
    np.testing.assert_allclose([[float(v) for v in row.values()] for row in rows],
                               [[float(v) for v in row.values()] for row in expected],
                               rtol=0, atol=1e-10)


def test_backup_and_restore_resumes_a_two_process_run_exactly(single, two):
    arrays, values = assert_same_on_every_process(two, "resume", 2)
    assert values["interrupted"] == "'interrupted after epoch 1'"
    assert values["resumed_epochs"] == [2, 3]
    whole = {key[5:]: a for key, a in arrays.items() if key.startswith("whole")}
    resumed = {key[7:]: a for key, a in arrays.items() if key.startswith("resumed")}
    assert len(whole) == 4
    assert_close(resumed, whole, 0.0, "resumed vs uninterrupted")
    assert values["resumed"] == {name: v[2:] for name, v in values["whole"].items()}
    expected, expected_values = load(single, "resume")
    assert_close(arrays, expected, 1e-10, "two processes vs one")
    assert_history_close(values["whole"], expected_values["whole"], 1e-10)


def test_backup_and_restore_resumes_exactly_with_dropout(single, two):
    # in one process the resume is exact (the backup holds the one random stream)
    arrays, _ = load(single, "resume_dropout")
    for index in range(4):
        np.testing.assert_array_equal(arrays[f"resumed{index}"], arrays[f"whole{index}"])
    arrays, _ = assert_same_on_every_process(two, "resume_dropout", 2)
    for index in range(4):
        np.testing.assert_array_equal(arrays[f"resumed{index}"], arrays[f"whole{index}"])


def test_dropout_masks_differ_per_process_and_weights_stay_identical(single, two):
    mask0, mask1 = load(two, "dropout", 0)[0]["mask"], load(two, "dropout", 1)[0]["mask"]
    assert 0.3 < mask0.mean() < 0.7 and 0.3 < mask1.mean() < 0.7
    assert (mask0 != mask1).any()
    # rank 0 draws what one process draws
    np.testing.assert_array_equal(mask0, load(single, "dropout")[0]["mask"])
    arrays, _ = load(two, "dropout", 0)
    other, _ = load(two, "dropout", 1)
    for key in arrays:
        if key != "mask":
            np.testing.assert_array_equal(other[key], arrays[key])


def test_a_custom_train_step_on_two_processes_equals_one(single, two):
    arrays, values = assert_same_on_every_process(two, "custom256", 2)
    expected, expected_values = load(single, "custom256")
    assert values["error"] is None
    assert_close(arrays, expected, 1e-10)
    assert_history_close(values["history"], expected_values["history"], 1e-10)


def test_a_process_without_samples_still_joins(single, three):
    # 2 samples on 3 processes: the third holds none in every step, evaluate and predict
    arrays, values = assert_same_on_every_process(three, "tiny", 3)
    expected, expected_values = load(single, "tiny")
    assert arrays["predicted"].shape == (2, 3)
    assert_close(arrays, expected, 1e-10)
    assert_history_close(values["history"], expected_values["history"], 1e-10)
    assert_history_close(values["evaluated"], expected_values["evaluated"], 1e-10)


def test_a_custom_train_step_with_an_empty_shard_fails_clearly_on_every_process(three):
    for rank in range(3):
        error = load(three, "custom2", rank)[1]["error"]
        assert error is not None, f"rank {rank} trained"
        assert "custom train_step" in error and "at least 3" in error, error


def test_one_process_without_mpirun_is_unchanged_and_never_imports_mpi4py(single):
    arrays, values = load(single, "plain")
    assert values == {"mpi4py_imported": False, "launched_by_mpi": "LocalCommunicator"}
    without = {key[7:]: a for key, a in arrays.items() if key.startswith("without")}
    with_ = {key[4:]: a for key, a in arrays.items() if key.startswith("with") and
             not key.startswith("without")}
    assert len(without) == 4
    assert_close(with_, without, 0.0, "with DataParallel() vs without")


# --- a process that dies ends the job ----------------------------------------------------------

# What each failure prints: chainrule's message, or the launcher's report of the dead process
# (Open MPI's prterun; MPICH's Hydra says "EXIT CODE: 3" and "KILLED BY SIGNAL: 9").
FAILURES = {
    "raise": r"(?s)process 1 of 2 failed; ending the job.*"
             r"RuntimeError: a callback failed on rank 1",
    "exit": r"(?is)exited with non-zero status.*exit code:\s*3|EXIT CODE: 3",
    "kill": r"(?is)rank 1 .*exited on\s+signal 9|KILLED BY SIGNAL: 9",
    "sys.exit": r"process 1 of 2 exited in the middle of fit \(SystemExit\(0\)\)",
}

# sys.exit() on one process: Python's exit would wait in MPI_Finalize for the others while they
# wait in the step's Allreduce for it; fit runs inside distributed.leaving_ends_the_job, which
# ends the job instead.
@pytest.mark.parametrize("mode", ["raise", "exit", "kill", "sys.exit"])
def test_a_process_that_dies_mid_fit_ends_the_job(tmp_path, mode):
    # the other process is then waiting in an Allreduce: without the abort it would wait forever
    result = mpi.run("fail", 2, tmp_path, mode, timeout=20 if mode == "sys.exit" else 60,
                     check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert not (tmp_path / "finished").exists()
    assert re.search(FAILURES[mode], output), output


# --- the pieces, without MPI -------------------------------------------------------------------


class FakeCommunicator(LocalCommunicator):
    """Process ``rank`` of ``size``, where the other processes' contribution to each Allreduce
    is the next of ``others`` and, on a process other than 0, what rank 0 broadcasts is the next
    of ``roots``. ``sent``: a copy of every array it was given."""

    def __init__(self, rank=0, size=2, others=(), roots=()):
        super().__init__()
        self.rank, self.size = rank, size
        self.others, self.roots, self.sent = list(others), list(roots), []

    def allreduce_(self, array):
        self.sent.append(array.copy())
        array += self.others.pop(0)
        return array

    def broadcast_(self, array, root=0):
        self.sent.append(array.copy())
        if self.rank != root:
            array[...] = self.roots.pop(0)
        return array


def data_parallel(communicator):
    distributed = keras.distribution.DataParallel()
    distributed.communicator = communicator
    return distributed


def variable(shape, dtype="float64"):
    return types.SimpleNamespace(shape=shape, dtype=np.dtype(dtype))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 64, 1000])
@pytest.mark.parametrize("processes", [1, 2, 3, 5])
def test_shard_bounds_are_contiguous_balanced_and_cover_the_batch(n, processes):
    distributed = data_parallel(FakeCommunicator(size=processes))
    bounds = [distributed.shard_bounds(n, rank) for rank in range(processes)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(stop == start for (_, stop), (start, _) in zip(bounds, bounds[1:]))
    sizes = [stop - start for start, stop in bounds]
    assert min(sizes) >= 0 and max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)
    distributed.communicator.rank = processes - 1
    assert distributed.shard_bounds(n) == bounds[-1]


def test_reduce_gradients_weights_this_shard_and_sums_one_buffer_per_dtype():
    variables = [variable((2, 3)), variable((3,), "float32"), variable((4,)), variable((2,))]
    grads = [np.arange(6.0).reshape(2, 3), np.ones(3, "float32"), None, None]
    # the others: float32 first (sorted by name), then float64; flags after the values
    other32 = np.array([10, 20, 30, 1], "float32")
    other64 = np.concatenate([np.full(6, 0.5), np.arange(4.0), np.zeros(2), [1, 1, 0]])
    communicator = FakeCommunicator(others=[other32, other64])
    distributed = data_parallel(communicator)
    with distributed.step(16, 64):
        reduced = distributed.reduce_gradients(grads, variables)
    assert [s.dtype for s in communicator.sent] == [np.float32, np.float64]
    np.testing.assert_array_equal(communicator.sent[0], [0.25, 0.25, 0.25, 1])
    np.testing.assert_array_equal(communicator.sent[1][-3:], [1, 0, 0])  # who has a gradient
    np.testing.assert_array_equal(reduced[0], np.arange(6.0).reshape(2, 3) * 0.25 + 0.5)
    assert reduced[1].dtype == np.float32
    np.testing.assert_array_equal(reduced[1], [10.25, 20.25, 30.25])
    # no gradient here, one elsewhere: the others' sum; no gradient anywhere: None
    np.testing.assert_array_equal(reduced[2], np.arange(4.0))
    assert reduced[3] is None
    assert distributed.step_weight == 0.5  # outside a step: the average


def test_a_null_step_sends_zeros_and_flags_none():
    variables = [variable((2,)), variable((1,))]
    communicator = FakeCommunicator(others=[np.array([3.0, 4.0, 5.0, 1, 1])])
    distributed = data_parallel(communicator)
    with distributed.step(0, 2):
        reduced = distributed.reduce_gradients([None, None], variables)
    np.testing.assert_array_equal(communicator.sent[0], np.zeros(5))
    np.testing.assert_array_equal(reduced[0], [3.0, 4.0])
    np.testing.assert_array_equal(reduced[1], [5.0])


def test_broadcast_arrays_overwrites_in_place_from_rank_zero():
    arrays = [np.zeros((2, 2)), np.zeros(3, "float32"), np.ones(1)]
    communicator = FakeCommunicator(rank=1, roots=[np.arange(3, dtype="float32"),
                                                   np.arange(5.0)])
    data_parallel(communicator).broadcast_arrays(arrays)
    np.testing.assert_array_equal(arrays[0], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(arrays[1], [0, 1, 2])
    np.testing.assert_array_equal(arrays[2], [4])


def test_permutation_is_rank_zeros_draw_sent_to_every_process():
    keras.utils.set_random_seed(11)
    root = FakeCommunicator(rank=0)
    order = data_parallel(root).permutation(10)
    np.testing.assert_array_equal(order, np.random.default_rng(11).permutation(10))
    np.testing.assert_array_equal(root.sent[0], order)
    other = FakeCommunicator(rank=1, roots=[order])
    np.testing.assert_array_equal(data_parallel(other).permutation(10), order)


def test_clear_errors():
    keras.distribution.initialize()  # one process: a no-op
    assert keras.distribution.list_devices() == ["cpu:0"]
    with pytest.raises(ValueError, match="one process per device"):
        keras.distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    with pytest.raises(NotImplementedError, match="data-parallel only"):
        keras.distribution.ModelParallel()
    with pytest.raises(TypeError, match="received str"):
        keras.distribution.set_distribution("x")
    with pytest.raises(ValueError, match="num_processes=3.*1 processes"):
        keras.distribution.initialize(num_processes=3)
    with pytest.raises(ValueError, match="device_type='gpu'"):
        keras.distribution.list_devices("gpu")


def test_one_process_is_not_data_parallel():
    distributed = keras.distribution.DataParallel()
    assert distributed.num_processes == 1
    keras.distribution.set_distribution(distributed)
    try:
        assert keras.distribution.distribution() is distributed
        assert distribution_lib.active_data_parallel() is None
    finally:
        keras.distribution.set_distribution(None)
