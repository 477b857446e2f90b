"""predict from several threads while fit runs: grad mode is per thread, so neither disturbs the
other, and the training is the same as without the threads."""

import threading

import numpy as np

import chainrule as cr


def _model():
    cr.utils.set_random_seed(3)
    model = cr.Sequential([cr.layers.Dense(16, activation="tanh", input_shape=(8,)),
                           cr.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    return x, (x[:, :1] + x[:, 1:2] > 0).astype("float32")


def test_predict_in_threads_during_fit_changes_nothing():
    x, y = _data()
    reference = _model()
    expected = reference.fit(x, y, epochs=4, batch_size=16, verbose=0).history

    model = _model()
    stop = threading.Event()
    errors, calls = [], [0]

    def predict_until_stopped():
        try:
            while not stop.is_set():
                out = model.predict(x[:64], verbose=0)
                assert out.shape == (64, 1)
                calls[0] += 1
        except Exception as error:  # reported below, in the main thread
            errors.append(error)

    threads = [threading.Thread(target=predict_until_stopped) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        history = model.fit(x, y, epochs=4, batch_size=16, verbose=0).history
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert calls[0] > 3
    assert history["loss"] == expected["loss"]
    for got, want in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert cr.is_grad_enabled()
    again = model.fit(x, y, epochs=1, batch_size=64, verbose=0).history  # later fits still record
    assert np.isfinite(again["loss"][0])


def test_a_load_in_one_thread_does_not_limit_models_built_in_another(tmp_path):
    from chainrule.layers.layer import weight_budget

    inside, release, errors = threading.Event(), threading.Event(), []

    def hold_a_small_budget():
        with weight_budget(10):  # as loading a 10-value file does
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=hold_a_small_budget)
    thread.start()
    try:
        assert inside.wait(10)
        model = cr.Sequential([cr.layers.Dense(64, input_shape=(32,))])  # 2,112 values
        assert model.count_params() == 2112
    finally:
        release.set()
        thread.join()


def test_layers_made_in_threads_get_distinct_names():
    names, barrier = [], threading.Barrier(8)

    def make():
        barrier.wait(10)
        names.extend(cr.layers.Dense(1).name for _ in range(200))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(names)) == len(names) == 1600
