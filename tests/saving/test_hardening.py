"""Issue 10: the file format under hostile values, many layers, concurrent savers and killed saves.

Every malformed header value is a SavingError (never a TypeError or KeyError); every configuration
value that sizes an allocation is checked against the model when the file is read; loading is linear
in the number of layers; a reader never sees a file mixed from two saves; a save killed midway leaves
no temporary file behind for good.
"""

import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from chainrule import layers
from chainrule.models import Sequential, load_model
from chainrule.saving import SavingError, callbacks as saving_callbacks, serialization
from chainrule.saving import format as fmt
from chainrule.utils.files import temporary_name
from tests.helpers import calls_during, mutations

ROOT = Path(__file__).resolve().parents[2]


def _craft(path, header, data=b""):
    """A file with a valid checksum around whatever header and data we choose."""
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    body = struct.pack("<8sIQ", fmt.MAGIC, fmt.VERSION, len(text)) + text + data
    Path(path).write_bytes(body + hashlib.sha256(body).digest())


def _raw(path):
    """The header exactly as stored (with its tensor table) and the data bytes of a file."""
    content = Path(path).read_bytes()
    length = struct.unpack("<8sIQ", content[:20])[2]
    return json.loads(content[20:20 + length]), content[20 + length:-32]


# --- every malformed value is a SavingError ------------------------------------------------------

def _fuzz_model():
    model = Sequential([layers.Input(shape=(3,)), layers.Embedding(5, 2), layers.Dropout(0.5, noise_shape=(None, 1, 2)),
                        layers.Bidirectional(layers.LSTM(2, return_sequences=True)), layers.Reshape((-1,)),
                        layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.ones((2, 3), dtype=int), np.ones((2, 1)), verbose=0)
    return model


# NOTE: an optimizer's epsilon of 1e308 loads (it is a valid float) and overflows float32 with a
# warning when the optimizer casts it; the optimizer's own validation, not the file's, would refuse it.
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_every_value_of_a_real_header_mutated_to_every_type_is_a_saving_error(tmp_path):
    """The whole header, tensor table included: about 8,000 files, each with one value changed.
    A model that loads must also run (a value that loads but fails at the first use escapes too)."""
    path = tmp_path / "m.chainrule"
    _fuzz_model().save(path)
    header, data = _raw(path)
    mutated = tmp_path / "v.chainrule"
    escaped, unchecked, outcomes = [], [], {"refused": 0, "loaded": 0}
    for place, variant in mutations(header):
        _craft(mutated, json.dumps(variant).encode(), data)
        try:
            model = load_model(mutated)
            outcomes["loaded"] += 1
            try:
                model.predict(np.ones((1, 3), dtype=int), verbose=0)
            except ValueError:  # a model that loaded but was made for other data: its own, clear refusal
                pass
        except SavingError as error:
            outcomes["refused"] += 1
            if "the model description is malformed" in str(error):  # the last-resort guard's words
                unchecked.append(f"{place}: {str(error)[-200:]}")
        except Exception as error:  # what this test exists to catch
            escaped.append(f"{place}: {type(error).__name__}: {str(error)[:200]}")
    assert not escaped, f"{len(escaped)} mutations escaped as other errors:\n" + "\n".join(escaped[:40])
    # each value is checked where it is read, so the guard around the whole load is never needed
    assert not unchecked, f"{len(unchecked)} mutations reached the last guard:\n" + "\n".join(unchecked[:40])
    assert outcomes["refused"] > 2000 and outcomes["loaded"] > 100


@pytest.mark.parametrize("entry", [
    {"dtype": ["<f4"], "shape": [2], "offsets": [0, 8]},
    {"dtype": {"<f4": 1}, "shape": [2], "offsets": [0, 8]},
    {"dtype": "<f4", "shape": [[2]], "offsets": [0, 8]},
    {"dtype": "<f4", "shape": [2], "offsets": [[0], 8]},
    {"dtype": "<f4", "shape": [True, 2], "offsets": [0, 8]},
])
def test_unhashable_or_nested_table_values_are_saving_errors(tmp_path, entry):
    _craft(tmp_path / "t.chainrule", {"kind": "weights", "tensors": {"weights/a": entry}}, b"\0" * 8)
    with pytest.raises(SavingError, match=r"tensor 'weights/a': (dtype|shape|offsets)"):
        fmt.read_file(tmp_path / "t.chainrule")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_in_the_header_are_refused(tmp_path, literal):
    """The writer never produces them (allow_nan=False), so the reader accepts none either."""
    _craft(tmp_path / "n.chainrule", b'{"kind": "weights", "x": ' + literal + b', "tensors": {}}')
    with pytest.raises(SavingError, match="not a finite number"):
        fmt.read_file(tmp_path / "n.chainrule")


def test_the_reader_never_blocks_on_a_fifo(tmp_path):
    fifo = tmp_path / "m.chainrule"
    os.mkfifo(fifo)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(_error_of(fmt.read_file, fifo)), daemon=True)
    reader.start()
    reader.join(5)
    if reader.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "wb"):
            pass
        reader.join(5)
        pytest.fail("read_file blocked on a FIFO")
    assert isinstance(outcome[0], SavingError) and "not a regular file" in str(outcome[0])


def _error_of(function, *args):
    try:
        function(*args)
    except Exception as error:
        return error
    return None


def test_a_from_config_that_fails_unexpectedly_is_a_saving_error_naming_the_layer(tmp_path):
    class Fragile(layers.Layer):
        def __init__(self, size, **kwargs):
            super().__init__(**kwargs)
            self.size = {"small": 1}[size]  # a KeyError on anything else

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "size": "small"}

    model = Sequential([layers.Input(shape=(2,)), Fragile("small", name="fragile")])
    serialization.register(Fragile)
    try:
        model.save(tmp_path / "f.chainrule")
        header, data = _raw(tmp_path / "f.chainrule")
        header["model"]["config"]["layers"][0]["config"]["size"] = "large"
        _craft(tmp_path / "f.chainrule", header, data)
        with pytest.raises(SavingError, match=r"layer 0 \(Fragile\): Fragile refused its configuration: "
                                              r"KeyError"):
            load_model(tmp_path / "f.chainrule")
    finally:
        del serialization._REGISTERED["Fragile"]


def _backup(tmp_path, process_random_states=None):
    """A BackupAndRestore whose file was written after epoch 0 of a small model, and the file's
    header and data (for crafting)."""
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    model._process_random_states = process_random_states
    backup = saving_callbacks.BackupAndRestore(tmp_path)
    backup.set_model(model)
    backup.on_epoch_end(0)
    return (backup,) + _raw(backup.path)


def _assert_refused_changing_nothing(backup, header, data, match):
    """The crafted backup is refused with a SavingError matching ``match``, and the model it was
    to restore into keeps every weight."""
    _craft(backup.path, header, data)
    fresh = Sequential([layers.Dense(2, input_shape=(3,))])
    fresh.compile(optimizer="sgd", loss="mse")
    before = fresh.get_weights()
    backup.set_model(fresh)
    with pytest.raises(SavingError, match=match):
        backup.on_train_begin()
    for a, b in zip(before, fresh.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_a_malformed_backup_epoch_changes_nothing(tmp_path):
    """The epoch is checked with the rest of the file, before any weight of the running model moves."""
    backup, header, data = _backup(tmp_path)
    for epoch in (True, -1, "3", 2.0, [1]):
        header["epoch"] = epoch
        _assert_refused_changing_nothing(backup, header, data, r"epoch")


def test_malformed_process_random_states_in_a_backup_change_nothing(tmp_path):
    """A data-parallel backup's per-process random states are checked with the rest of the file,
    before any weight of the running model moves."""
    from chainrule import _backend

    states = [_backend.get_rng_state(), _backend.get_rng_state()]
    backup, header, data = _backup(tmp_path, states)
    assert header["process_random_states"] == states
    good = states[1]
    for bad in ([], {"0": good}, [good, {"bit_generator": "PCG64"}], [good, "os.system"],
                [good, {**good, "state": {"state": -1, "inc": 1}}]):
        header["process_random_states"] = bad
        _assert_refused_changing_nothing(backup, header, data, r"process_random_states")


# --- configuration values that size allocations -------------------------------------------------


def _model_file(path, layer_configs, input_shape, tensors=None, data=b""):
    model = {"class_name": "Sequential", "config": {"name": "m", "batch_input_shape": input_shape,
                                                    "built_input_shape": input_shape, "layers": layer_configs}}
    _craft(path, {"kind": "model", "model": model, "compile": None, "tensors": tensors or {}}, data)


@pytest.mark.parametrize("noise_shape, input_shape, message", [
    ([2**33, 2**33], [None, 4], r"noise_shape \[8589934592, 8589934592\] does not fit inputs of shape \(None, 4\)"),
    ([None, 2**36], [None, 4], r"axis 1 has 68719476736, expected None, 1 or 4"),
    ([None, 1, 1], [None, 4], r"3 axes, the inputs have 2"),
    ([None], [None, 4, 5], r"1 axes, the inputs have 3"),
])
def test_a_dropout_noise_shape_must_fit_its_inputs_at_load_time(tmp_path, noise_shape, input_shape, message):
    path = tmp_path / "d.chainrule"
    _model_file(path, [{"class_name": "Dropout", "config": {"rate": 0.5, "noise_shape": noise_shape}}], input_shape)
    with pytest.raises(SavingError, match=message):
        load_model(path)


def test_a_dropout_noise_shape_naming_the_batch_size_is_checked_against_each_batch(tmp_path):
    # Keras documents noise_shape=(batch_size, 1, features); a size the batch does not have is
    # refused before the mask is drawn, so a crafted 2**36 never sizes an allocation
    path = tmp_path / "d.chainrule"
    _model_file(path, [{"class_name": "Dropout", "config": {"rate": 0.5, "noise_shape": [2**36, 1]}}], [None, 4])
    model = load_model(path)
    with pytest.raises(ValueError, match=r"axis 0 has 68719476736, expected None, 1 or 5"):
        model.layers[0](np.ones((5, 4), dtype="float32"), training=True)
    documented = layers.Dropout(0.5, noise_shape=(5, 1, 4))
    mask = documented(np.ones((5, 3, 4), dtype="float32"), training=True).data
    np.testing.assert_array_equal(mask, np.broadcast_to(mask[:, :1, :], mask.shape))  # shared along axis 1


@pytest.mark.parametrize("noise_shape", ["abc", 3, [0.5], [-1], [0], [True]])
def test_a_dropout_noise_shape_that_is_no_shape_is_refused(noise_shape):
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape=noise_shape)


def test_valid_noise_shapes_still_load_and_train(tmp_path):
    model = Sequential([layers.Input(shape=(3, 4)), layers.Dropout(0.5, noise_shape=(None, 1, 4)),
                        layers.Dropout(0.5, noise_shape=(1, None, None)), layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "ok.chainrule")
    loaded = load_model(tmp_path / "ok.chainrule")
    loaded.fit(np.ones((5, 3, 4)), np.ones((5, 1)), verbose=0)
    assert loaded.layers[0].noise_shape == (None, 1, 4)


def test_a_dense_layer_after_an_empty_input_axis_cannot_size_outputs_without_weights(tmp_path):
    """A Dense layer on inputs of 0 features has a kernel of 0 values, so the weight budget alone
    would let its units size the outputs (here 2**39 per sample) at the first predict."""
    path = tmp_path / "z.chainrule"
    kernel = {"weights/d/kernel": {"dtype": "<f4", "shape": [0, 2**39], "offsets": [0, 0]}}
    _model_file(path, [{"class_name": "Dense", "config": {"name": "d", "units": 2**39, "use_bias": False}}],
                [None, 0], kernel)
    with pytest.raises(SavingError, match=r"batch_input_shape: expected .* found \[None, 0\]; an axis of size 0"):
        load_model(path)


# --- linear loading ------------------------------------------------------------------------------


def _activation_model(n):
    return Sequential([layers.Input(shape=(3,))] + [layers.Activation("relu", name=f"a{i}") for i in range(n)])


def test_loading_is_linear_in_the_number_of_layers(tmp_path, monkeypatch):
    shapes = [0]
    original = layers.Activation.compute_output_shape

    def counted(self, input_shape):
        shapes[0] += 1
        return original(self, input_shape)

    monkeypatch.setattr(layers.Activation, "compute_output_shape", counted)
    calls = {}
    for n in (300, 1200):
        _activation_model(n).save(tmp_path / f"{n}.chainrule")
        shapes[0] = 0
        calls[n] = calls_during(load_model, tmp_path / f"{n}.chainrule")
        assert shapes[0] <= n + 1  # each layer's output shape is worked out once
    assert calls[1200] < 4.5 * calls[300]  # quadratic work would give 16 times


def test_ten_thousand_layers_save_and_load(tmp_path):
    """Deeper than Python's recursion limit; that the work grows linearly is counted above."""
    model = _activation_model(10_000)
    model.save(tmp_path / "deep.chainrule")
    loaded = load_model(tmp_path / "deep.chainrule")
    assert len(loaded.layers) == 10_000 and loaded.output_shape == (None, 3)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# --- concurrent savers and readers ---------------------------------------------------------------


SAVER = """
import sys, time
import numpy as np
from chainrule.saving import format as fmt
path, size, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
arrays = {"weights/a": np.full(size, size, dtype=np.float32)}
end = time.monotonic() + seconds
while time.monotonic() < end:
    fmt.write_file(path, {"kind": "weights"}, arrays)
"""


def test_a_reader_never_sees_a_mix_of_two_saves(tmp_path):
    """Two processes replace the file with saves of different sizes while this one reads it in a
    loop: every read must succeed (the size comes from the opened file, not the path)."""
    path = tmp_path / "m.chainrule"
    fmt.write_file(path, {"kind": "weights"}, {"weights/a": np.zeros(1, dtype=np.float32)})
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    savers = [subprocess.Popen([sys.executable, str(script), str(path), str(size), "3"],
                               env={"PYTHONPATH": str(ROOT), "PATH": ""}) for size in (10, 5000)]
    failures, reads, sizes = [], 0, set()
    try:
        while any(saver.poll() is None for saver in savers) and reads < 20_000:
            try:
                sizes.add(fmt.read_file(path)[1]["weights/a"].size)
            except SavingError as error:
                failures.append(str(error))
            reads += 1
    finally:
        for saver in savers:
            saver.kill()
            saver.wait()
    assert not failures, f"{len(failures)} of {reads} reads failed: {failures[:2]}"
    assert sizes >= {10, 5000}  # both savers' files were read, whole


def test_read_file_takes_the_size_from_the_open_file(tmp_path, monkeypatch):
    """Deterministically: the path is replaced by a bigger file right after the reader first
    touches it (to take its size or to open it)."""
    path = tmp_path / "m.chainrule"
    Sequential([layers.Dense(2, input_shape=(3,), name="small")]).save(path)
    Sequential([layers.Dense(300, input_shape=(3,), name="big")]).save(tmp_path / "big.chainrule")

    def replaced_after(function):
        def wrapper(*args, **kwargs):
            result = function(*args, **kwargs)
            if (tmp_path / "big.chainrule").exists():
                os.replace(tmp_path / "big.chainrule", path)
            return result
        return wrapper

    monkeypatch.setattr(fmt.os.path, "getsize", replaced_after(os.path.getsize))
    monkeypatch.setattr(fmt.os, "open", replaced_after(os.open))
    monkeypatch.setattr(fmt, "open", replaced_after(open), raising=False)
    header, arrays = fmt.read_file(path)
    assert sorted(arrays) == ["weights/small/bias", "weights/small/kernel"]  # the file it opened


# --- temporary files -----------------------------------------------------------------------------

KILLED_SAVE = """
import os, signal, sys
from chainrule import layers
from chainrule.models import Sequential
from chainrule.saving import format as fmt

real_fsync = os.fsync
def fsync_then_die(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)  # killed after the data is written, before the rename
fmt.os.fsync = fsync_then_die
Sequential([layers.Dense(2, input_shape=(3,))]).save(sys.argv[1])
"""


def _temporaries(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


def test_a_save_killed_by_sigkill_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "m.chainrule"
    script = tmp_path / "kill.py"
    script.write_text(KILLED_SAVE)
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == -signal.SIGKILL, done.stderr
    stale = _temporaries(tmp_path)
    assert len(stale) == 1 and not path.exists()
    another = Path(temporary_name(tmp_path / "other.chainrule", _dead_pid()))
    another.write_bytes(b"partial")
    Sequential([layers.Dense(2, input_shape=(3,))]).save(path)
    assert _temporaries(tmp_path) == [another.name]  # the dead writer's is gone; another target's is not ours
    load_model(path)


def test_a_live_writers_temporary_and_unrelated_files_are_kept(tmp_path):
    path = tmp_path / "m.chainrule"
    live = Path(temporary_name(path, os.getpid()))  # this process: alive
    unrelated = [tmp_path / ".m.chainrule.notes.tmp", tmp_path / "m.chainrule.tmp", tmp_path / ".m.chainrule.x.y.z.tmp",
                 Path(temporary_name(path, 9_999_999_999)),  # no such process id here: cannot tell, kept
                 Path(temporary_name(tmp_path / "m.chainrule.old", _dead_pid()))]  # another target's
    for planted in [live, *unrelated]:
        planted.write_bytes(b"partial")
    dead = Path(temporary_name(path, _dead_pid()))
    dead.write_bytes(b"partial")
    Sequential([layers.Dense(2, input_shape=(3,))]).save(path)
    assert live.exists() and all(p.exists() for p in unrelated)
    assert not dead.exists()


def _dead_pid():
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_saved_file_gets_the_usual_permissions(tmp_path):
    """The temporary file is created like any other file (mode 0o666 less the umask), not 0o600."""
    mask = os.umask(0o022)
    os.umask(mask)
    Sequential([layers.Dense(2, input_shape=(3,))]).save(tmp_path / "m.chainrule")
    assert (tmp_path / "m.chainrule").stat().st_mode & 0o777 == 0o666 & ~mask


# --- writing: values the header cannot hold, and the callbacks that write ----------------------


def test_numpy_scalars_in_settings_are_saved_as_numbers_and_non_finite_ones_are_named(tmp_path):
    import chainrule as cr

    model = Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer=cr.optimizers.Adam(learning_rate=np.float32(1e-3)), loss="mse",
                  metrics=[cr.metrics.BinaryAccuracy(threshold=np.float32(0.25))])
    model.save(tmp_path / "m.chainrule")
    loaded = load_model(tmp_path / "m.chainrule")
    assert np.float32(loaded.optimizer.get_config()["learning_rate"]) == np.float32(1e-3)
    assert loaded.compiled.metric_ids[0].kwargs == {"threshold": 0.25}
    model.compile(optimizer="adam", loss=cr.losses.Huber(delta=float("inf")))
    with pytest.raises(SavingError, match=r"header\['compile'\]\['loss'\]\['config'\]\['delta'\] is inf"):
        model.save(tmp_path / "n.chainrule")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.chainrule"]


def test_a_checkpoint_path_that_cannot_be_filled_in_is_a_value_error_naming_it(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    for template in ("{epoch.days}.chainrule", "{epoch[0]}.chainrule", "{loss:d}.chainrule", "{0}.chainrule"):
        checkpoint = saving_callbacks.ModelCheckpoint(str(tmp_path / template))
        checkpoint.set_model(model)
        with pytest.raises(ValueError, match=r"cannot fill in the file path .*" + re.escape(template)):
            checkpoint.on_epoch_end(0, {"loss": 0.5})


def test_a_best_value_counts_only_once_its_save_succeeded(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    checkpoint = saving_callbacks.ModelCheckpoint(tmp_path / "missing" / "best.chainrule", save_best_only=True)
    checkpoint.set_model(model)
    (tmp_path / "missing").write_text("a file where the folder should be")
    with pytest.raises(OSError):
        checkpoint.on_epoch_end(0, {"val_loss": 1.0})  # the folder cannot be made: nothing saved
    (tmp_path / "missing").unlink()
    (tmp_path / "missing").mkdir()
    checkpoint.on_epoch_end(1, {"val_loss": 1.0})  # as good as the best never saved: it is saved now
    assert (tmp_path / "missing" / "best.chainrule").is_file()


def test_a_backup_removed_by_someone_else_ends_training_cleanly(tmp_path, monkeypatch):
    backup = saving_callbacks.BackupAndRestore(tmp_path)
    monkeypatch.setattr(saving_callbacks.os.path, "exists", lambda path: True)  # seen, then gone
    backup.on_train_end()


def test_saving_into_a_missing_folder_names_the_target_not_a_temporary_file(tmp_path):
    target = tmp_path / "missing" / "m.chainrule"
    with pytest.raises(FileNotFoundError) as caught:
        Sequential([layers.Dense(2, input_shape=(3,))]).save(target)
    assert str(target) in str(caught.value) and ".tmp" not in str(caught.value)


def test_saving_through_a_symbolic_link_writes_the_file_it_names(tmp_path):
    target = tmp_path / "real.chainrule"
    link = tmp_path / "link.chainrule"
    model = Sequential([layers.Input(shape=(2,)), layers.Dense(1)])
    model.save(target)
    link.symlink_to(target)
    model.layers[0].kernel.assign(np.full((2, 1), 3.0))
    model.save(link)
    assert link.is_symlink()
    np.testing.assert_array_equal(load_model(target).layers[0].kernel.data, np.full((2, 1), 3.0))
