"""Model, whatever way it was made: the same network as Sequential, Functional and subclass gives
the same outputs, losses, gradients and updates; several outputs with a loss dict and
loss_weights give ``sum w_i L_i`` and Keras's log names; ``predict`` and ``fit`` take and give
Keras's structures (lists, dicts by Input name). Keras 3 on JAX is the reference where it is
installed; the values are also checked against NumPy and PyTorch."""


import numpy as np
import pytest

import chainrule as cr
from chainrule import layers
from chainrule.models import Model, Sequential
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 4)).astype("float32")
Y = RNG.normal(size=(6, 2)).astype("float32")


# --- one network, three ways ------------------------------------------------------------------


class TwoDense(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(5, activation="tanh")
        self.out = layers.Dense(2)

    def call(self, x):
        return self.out(self.hidden(x))


def three_ways():
    """The same two-layer network as Sequential, Functional and subclass, with one set of weights."""
    sequential = Sequential([cr.Input(shape=(4,)), layers.Dense(5, activation="tanh"), layers.Dense(2)])
    x = cr.Input(shape=(4,))
    functional = Model(x, layers.Dense(2)(layers.Dense(5, activation="tanh")(x)))
    subclassed = TwoDense()
    subclassed.build((None, 4))
    weights = [RNG.normal(size=w.shape).astype("float32") for w in sequential.weights]
    for model in (sequential, functional, subclassed):
        model.set_weights(weights)
    return (sequential, functional, subclassed), weights


def torch_reference(weights, x, y):
    """Loss (MSE), gradients of the four weights and the predictions, computed with PyTorch."""
    torch = pytest.importorskip("torch")
    w1, b1, w2, b2 = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    prediction = torch.tanh(torch.tensor(x, dtype=torch.float64) @ w1 + b1) @ w2 + b2
    loss = ((prediction - torch.tensor(y, dtype=torch.float64)) ** 2).mean()
    loss.backward()
    return loss.item(), [w.grad.numpy() for w in (w1, b1, w2, b2)], prediction.detach().numpy()


def test_three_ways_have_the_same_weights_in_the_same_order():
    models, weights = three_ways()
    for model in models:
        assert [w.shape for w in model.weights] == [(4, 5), (5,), (5, 2), (2,)]
        assert model.count_params() == 37
        for w, expected in zip(model.get_weights(), weights):
            np.testing.assert_array_equal(w, expected)


def test_three_ways_give_the_same_outputs_losses_and_gradients():
    models, weights = three_ways()
    loss_ref, grads_ref, prediction_ref = torch_reference(weights, X, Y)
    for model in models:
        model.compile(optimizer="sgd", loss="mse")
        prediction = model(X)
        np.testing.assert_allclose(prediction.data, prediction_ref, rtol=1e-5, atol=1e-6)
        loss = model.compute_loss(x=X, y=Y, y_pred=prediction)
        assert float(loss.data) == pytest.approx(loss_ref, rel=1e-5)
        for w in model.trainable_weights:
            w.grad = None
        loss.backward()
        for w, expected in zip(model.trainable_weights, grads_ref):
            np.testing.assert_allclose(w.grad, expected, rtol=1e-4, atol=1e-6)
    # and bit for bit the same between the three (one engine, one order of operations)
    outputs = [model(X).data for model in models]
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], outputs[2])


def test_three_ways_take_the_same_sgd_step():
    models, weights = three_ways()
    loss_ref, grads_ref, _ = torch_reference(weights, X, Y)
    expected = [w - 0.1 * g for w, g in zip(weights, grads_ref)]
    results = []
    for model in models:
        model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse")
        history = model.fit(X, Y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
        assert history.history["loss"][0] == pytest.approx(loss_ref, rel=1e-5)  # before the step
        for w, e in zip(model.get_weights(), expected):
            np.testing.assert_allclose(w, e, rtol=1e-5, atol=1e-6)
        results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_train_on_batch_and_evaluate_agree_across_the_three_ways():
    models, weights = three_ways()
    loss_ref, _, _ = torch_reference(weights, X, Y)
    for model in models:
        model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
        logs = model.evaluate(X, Y, verbose=0, return_dict=True)
        assert logs["loss"] == pytest.approx(loss_ref, rel=1e-5)
        prediction = model.predict(X, verbose=0)
        assert logs["mae"] == pytest.approx(float(np.mean(np.abs(prediction - Y))), rel=1e-5)
        assert model.train_on_batch(X, Y)[0] == pytest.approx(loss_ref, rel=1e-5)
        assert model.evaluate(X, Y, verbose=0)[0] < loss_ref  # the step went downhill


def test_freezing_a_layer_keeps_the_order_of_the_weights():
    """Freezing a layer keeps get_weights/set_weights in the layers' order."""
    model = Sequential([cr.Input(shape=(2,)), layers.Dense(2, name="a"), layers.Dense(2, name="b")])
    saved = model.get_weights()
    model.get_layer("a").trainable = False
    model.set_weights(saved)
    np.testing.assert_array_equal(model.get_layer("a").kernel.numpy(), saved[0])


@needs_keras
def test_weights_order_with_a_frozen_layer_matches_keras():
    """With a frozen layer, the weights are listed layer by layer, as in Keras."""
    shapes = []
    for lib in (keras, cr):
        model = lib.Sequential([lib.Input(shape=(3,)), lib.layers.Dense(2, trainable=False),
                                lib.layers.Dense(1)])
        shapes.append([tuple(w.shape) for w in model.get_weights()])
    assert shapes[1] == shapes[0]  # Keras: [(3, 2), (2,), (2, 1), (1,)]


# --- several outputs: loss dict, loss_weights, log names -----------------------------------------

Y_REG = RNG.normal(size=(6, 2)).astype("float32")
Y_CLS = np.eye(3, dtype="float32")[RNG.integers(0, 3, 6)]


def two_heads(lib, as_dict=False, order=("reg", "cls")):
    """x -> hidden -> reg (2, linear) and cls (3, softmax); outputs a list or a dict."""
    x = lib.Input(shape=(4,), name="x")
    h = lib.layers.Dense(5, activation="relu", name="hidden")(x)
    heads = {"reg": lib.layers.Dense(2, name="reg")(h),
             "cls": lib.layers.Dense(3, activation="softmax", name="cls")(h)}
    outputs = {name: heads[name] for name in order} if as_dict else [heads[name] for name in order]
    return lib.Model(x, outputs)


def numpy_losses(model):
    """MSE of reg and categorical cross-entropy of cls, from the model's predictions."""
    prediction = model.predict(X, verbose=0)
    if isinstance(prediction, list):
        prediction = dict(zip(model.output_names, prediction))
    mse = float(np.mean((prediction["reg"] - Y_REG) ** 2))
    p = np.clip(prediction["cls"], 1e-7, 1 - 1e-7)
    cce = float(np.mean(-np.sum(Y_CLS * np.log(p), axis=-1)))
    return mse, cce


@pytest.mark.parametrize("as_dict", [False, True])
def test_total_loss_is_the_weighted_sum_of_the_outputs_losses(as_dict):
    model = two_heads(cr, as_dict)
    model.compile(optimizer=cr.optimizers.SGD(learning_rate=0.05),
                  loss={"reg": "mse", "cls": "categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0})
    mse, cce = numpy_losses(model)
    logs = model.evaluate(X, {"reg": Y_REG, "cls": Y_CLS}, verbose=0, return_dict=True)
    assert logs["reg_loss"] == pytest.approx(mse, rel=1e-5)
    assert logs["cls_loss"] == pytest.approx(cce, rel=1e-5)
    assert logs["loss"] == pytest.approx(0.5 * mse + 2.0 * cce, rel=1e-5)
    # the same weighted sum is what fit reports (before its one step) and what it descends
    history = model.fit(X, {"reg": Y_REG, "cls": Y_CLS}, batch_size=len(X), shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(0.5 * mse + 2.0 * cce, rel=1e-5)
    assert history.history["reg_loss"][0] == pytest.approx(mse, rel=1e-5)
    assert history.history["cls_loss"][0] == pytest.approx(cce, rel=1e-5)
    new_mse, new_cce = numpy_losses(model)
    assert 0.5 * new_mse + 2.0 * new_cce < 0.5 * mse + 2.0 * cce


def test_loss_weights_as_a_list_and_losses_as_a_list():
    model = two_heads(cr)
    model.compile(optimizer="sgd", loss=["mse", "categorical_crossentropy"], loss_weights=[3.0, 0.25])
    mse, cce = numpy_losses(model)
    loss = model.evaluate(X, [Y_REG, Y_CLS], verbose=0)
    assert loss[0] == pytest.approx(3.0 * mse + 0.25 * cce, rel=1e-5)
    assert loss[1:] == pytest.approx([mse, cce], rel=1e-5)


def test_the_total_loss_is_differentiated_with_its_weights():
    model = two_heads(cr)
    model.compile(optimizer="sgd", loss={"reg": "mse", "cls": "categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 2.0})
    prediction = model(X)
    total = model.compute_loss(y={"reg": Y_REG, "cls": Y_CLS}, y_pred=prediction)
    for w in model.trainable_weights:
        w.grad = None
    total.backward()
    reg_kernel = model.get_layer("reg").kernel
    # d total / d reg kernel = 0.5 * d mse / d kernel = 0.5 * h^T (2 (p - y) / size)
    h = model.get_layer("hidden")(X).data
    expected = 0.5 * h.T @ (2 * (prediction[0].data - Y_REG) / Y_REG.size)
    np.testing.assert_allclose(reg_kernel.grad, expected, rtol=1e-4, atol=1e-6)


COMPILES = {
    "dict_loss_weights_metrics": dict(loss={"reg": "mse", "cls": "categorical_crossentropy"},
                                      loss_weights={"reg": 0.5, "cls": 2.0},
                                      metrics={"cls": ["accuracy"], "reg": ["mae"]}),
    "list_losses_metrics": dict(loss=["mse", "categorical_crossentropy"],
                                metrics=[["mae"], ["accuracy", "mse"]]),
    "dict_losses_only": dict(loss={"reg": "mse", "cls": "categorical_crossentropy"}),
    "dict_losses_cls_first": dict(loss={"cls": "categorical_crossentropy", "reg": "mse"},
                                  metrics={"reg": ["mae"], "cls": ["accuracy"]}),
}


def _log_cases():
    cases = []
    for as_dict in (False, True):
        for name in COMPILES:
            for order in (("reg", "cls"), ("cls", "reg")):
                if as_dict and name == "list_losses_metrics":
                    continue  # a list of losses for a dict of outputs: Keras's sorted matching
                cases.append(pytest.param(as_dict, name, order,
                                          id=f"{'dict' if as_dict else 'list'}-{name}-{'_'.join(order)}"))
    return cases


def _run_logs(lib, as_dict, compile_args, order, weights=None):
    """History keys, evaluate's dict and list, the metrics' names and the initial weights."""
    lib.utils.set_random_seed(0)  # the same initial weights whatever ran before
    model = two_heads(lib, as_dict, order)
    if weights is not None:
        model.set_weights(weights)
    weights = model.get_weights()
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.01), **compile_args)
    y = {"reg": Y_REG, "cls": Y_CLS}
    history = model.fit(X, y, epochs=1, batch_size=3, shuffle=False, verbose=0, validation_data=(X, y))
    as_dict_logs = model.evaluate(X, y, verbose=0, return_dict=True)
    as_list = model.evaluate(X, y, verbose=0)
    return (sorted(history.history), {k: float(v) for k, v in as_dict_logs.items()},
            [float(v) for v in as_list], [m.name for m in model.metrics], weights)


@needs_keras
@pytest.mark.parametrize("as_dict, name, order", _log_cases())
def test_log_names_and_evaluate_order_match_keras(as_dict, name, order):
    compile_args = COMPILES[name]
    k_history, k_dict, k_list, k_metrics, weights = _run_logs(keras, as_dict, compile_args, order)
    c_history, c_dict, c_list, c_metrics, _ = _run_logs(cr, as_dict, compile_args, order, weights)
    assert c_history == k_history
    assert sorted(c_dict) == sorted(k_dict)
    for key in k_dict:  # same weights, same data: the same numbers
        assert c_dict[key] == pytest.approx(k_dict[key], rel=1e-4, abs=1e-6), key
    # evaluate()'s list: Keras's order (a dict model's per-output losses in the loss dict's order),
    # found by value (all distinct here)
    assert len(set(np.round(list(k_dict.values()), 6))) == len(k_dict)
    by_value = {round(v, 6): key for key, v in k_dict.items()}
    k_names = [by_value[round(v, 6)] for v in k_list]
    assert c_list == pytest.approx([c_dict[key] for key in k_names], rel=1e-6)
    assert c_metrics == k_metrics


def test_log_names_follow_the_outputs_layers():
    model = two_heads(cr)
    model.compile(optimizer="sgd", loss=["mse", "categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]])
    history = model.fit(X, [Y_REG, Y_CLS], epochs=2, verbose=0, validation_split=0.5)
    assert sorted(history.history) == sorted(
        ["loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy",
         "val_loss", "val_reg_loss", "val_cls_loss", "val_reg_mae", "val_cls_accuracy"])
    assert all(len(values) == 2 for values in history.history.values())
    assert model.output_names == ["reg", "cls"]


@needs_keras
def test_output_names_of_a_dict_model_match_keras():
    """output_names of a dict-output model are the output layers' names, as in Keras."""
    def build(lib):
        x = lib.Input(shape=(4,))
        return lib.Model(x, {"p": lib.layers.Dense(2, name="dense_a")(x),
                             "q": lib.layers.Dense(3, name="dense_b")(x)})

    assert build(cr).output_names == build(keras).output_names  # ['dense_a', 'dense_b']


# --- predict's structures ----------------------------------------------------------------------


def _describe(value):
    """The structure of ``value`` with each array as (type, shape)."""
    if isinstance(value, dict):
        return {key: _describe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_describe(item) for item in value])
    return ("array", tuple(np.shape(value)))


STRUCTURES = {
    "single": lambda a, b: a,
    "list": lambda a, b: [a, b],
    "tuple": lambda a, b: (a, b),
    "dict": lambda a, b: {"p": a, "q": b},
    "nested": lambda a, b: [a, {"q": b}],
    "list_of_one": lambda a, b: [a],  # predict and call return the one array (unpack_singleton)
}


@needs_keras
@pytest.mark.parametrize("structure", list(STRUCTURES))
def test_predict_returns_keras_structures(structure):
    results = []
    for lib in (keras, cr):
        x = lib.Input(shape=(4,))
        a, b = lib.layers.Dense(2)(x), lib.layers.Dense(3)(x)
        model = lib.Model(x, STRUCTURES[structure](a, b))
        if lib is cr:
            model.set_weights(weights)
        else:
            weights = model.get_weights()
        prediction = model.predict(X, verbose=0)
        results.append((_describe(prediction), prediction))
    assert results[1][0] == results[0][0]
    for k_value, c_value in zip(_leaves(results[0][1]), _leaves(results[1][1])):
        np.testing.assert_allclose(c_value, k_value, rtol=1e-5, atol=1e-6)


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def test_predict_in_batches_matches_one_call():
    model = two_heads(cr, as_dict=True)
    whole = model(X)
    batched = model.predict(X, batch_size=4, verbose=0)
    assert set(batched) == {"reg", "cls"}
    for name in ("reg", "cls"):
        assert isinstance(batched[name], np.ndarray) and batched[name].shape == whole[name].shape
        np.testing.assert_allclose(batched[name], whole[name].data, rtol=1e-6)


# --- several inputs: fit with a dict by Input name ---------------------------------------------

XA = RNG.normal(size=(8, 4)).astype("float32")
XB = RNG.normal(size=(8, 3)).astype("float32")
Y1 = RNG.normal(size=(8, 1)).astype("float32")


def two_inputs(lib, structure):
    a = lib.Input(shape=(4,), name="a")
    b = lib.Input(shape=(3,), name="b")
    out = lib.layers.Dense(1, name="out")(lib.layers.Concatenate()([a, b]))
    inputs = {"list": [a, b], "dict": {"a": a, "b": b}, "dict_b_first": {"b": b, "a": a}}[structure]
    return lib.Model(inputs, out)


@needs_keras
@pytest.mark.parametrize("structure", ["list", "dict", "dict_b_first"])
def test_fit_with_a_dict_by_input_name_matches_keras(structure):
    results = []
    for lib in (keras, cr):
        model = two_inputs(lib, structure)
        if lib is cr:
            model.set_weights(weights)
        else:
            weights = model.get_weights()
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse")
        history = model.fit({"b": XB, "a": XA}, Y1, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.get_weights(),
                        model.predict({"a": XA, "b": XB}, verbose=0)))
    (k_loss, k_weights, k_prediction), (c_loss, c_weights, c_prediction) = results
    assert c_loss == pytest.approx(k_loss, rel=1e-5)
    for k_w, c_w in zip(k_weights, c_weights):
        np.testing.assert_allclose(c_w, k_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_prediction, k_prediction, rtol=1e-5, atol=1e-6)


def test_a_dict_of_inputs_needs_every_name():
    model = two_inputs(cr, "list")
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"no input named \['b'\]"):
        model.fit({"a": XA}, Y1, verbose=0)


def test_list_and_dict_inputs_give_the_same_predictions():
    model = two_inputs(cr, "list")
    by_list = model.predict([XA, XB], verbose=0)
    by_dict = model.predict({"b": XB, "a": XA}, verbose=0)
    np.testing.assert_array_equal(by_list, by_dict)
    w, bias = model.get_layer("out").get_weights()
    np.testing.assert_allclose(by_list, np.concatenate([XA, XB], axis=1) @ w + bias, rtol=1e-5, atol=1e-6)
