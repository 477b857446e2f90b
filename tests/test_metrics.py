"""Metrics against hand computations and the choice behind 'accuracy'; Keras 3's Metric API
(subclassing, Mean, Sum, the built-in metrics and their names) against Keras on JAX."""

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import metrics, ops
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")


def test_binary_accuracy_threshold_is_strict():
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([[1], [0], [1], [0]]), np.array([[0.9], [0.5], [0.5], [0.2]]))
    assert m.result() == 0.75  # 0.5 is not above 0.5: predicted 0, wrong for the third sample


def test_categorical_and_sparse_accuracy_accumulate_over_batches():
    cat, sparse = metrics.CategoricalAccuracy(), metrics.SparseCategoricalAccuracy()
    batches = [(np.array([0, 2]), np.array([[0.8, 0.1, 0.1], [0.5, 0.3, 0.2]])),
               (np.array([1]), np.array([[0.1, 0.7, 0.2]]))]
    for labels, probs in batches:
        cat.update_state(np.eye(3)[labels], probs)
        sparse.update_state(labels[:, None], probs)
    assert cat.result() == sparse.result() == pytest.approx(2 / 3)
    cat.reset_state()
    assert cat.result() == 0.0


def test_top_k_counts_ties_as_hits():
    m = metrics.SparseTopKCategoricalAccuracy(k=2)
    probs = np.array([[0.5, 0.3, 0.2], [0.4, 0.3, 0.3], [0.1, 0.2, 0.7]])
    m.update_state(np.array([2, 2, 0]), probs)
    # sample 0 misses (0.2 is 3rd); sample 1's label ties with the 2nd-largest score, so it is in
    # the top 2 (as tf.math.in_top_k); sample 2 misses
    assert m.result() == pytest.approx(1 / 3)
    top = metrics.TopKCategoricalAccuracy(k=1)
    top.update_state(np.eye(3)[[0, 1, 2]], probs)
    assert top.result() == pytest.approx(2 / 3)


def test_precision_and_recall_by_hand():
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.8])  # TP = 2, FP = 1, FN = 1
    precision, recall = metrics.Precision(), metrics.Recall()
    precision.update_state(y, p)
    recall.update_state(y, p)
    assert precision.result() == pytest.approx(2 / 3) and recall.result() == pytest.approx(2 / 3)
    weighted = metrics.Precision()
    weighted.update_state(y, p, sample_weight=np.array([1, 1, 2, 1, 1]))
    assert weighted.result() == pytest.approx(2 / 4)
    empty = metrics.Recall()
    empty.update_state(np.zeros(3), np.zeros(3))
    assert empty.result() == 0.0


def test_weighted_mean_and_regression_metrics():
    mean = metrics.Mean()
    mean.update_state([1.0, 3.0], sample_weight=[1.0, 3.0])
    assert mean.result() == pytest.approx(2.5)
    mse = metrics.MeanSquaredError()
    mse.update_state(np.array([[1.0, 2.0]]), np.array([[0.0, 4.0]]))
    assert mse.result() == pytest.approx(2.5)


@pytest.mark.parametrize("output_shape, target_shape, expected", [
    ((None, 1), (100,), metrics.BinaryAccuracy),
    ((None, 1), (100, 1), metrics.BinaryAccuracy),
    ((None, 10), (100,), metrics.SparseCategoricalAccuracy),
    ((None, 10), (100, 1), metrics.SparseCategoricalAccuracy),
    ((None, 10), (100, 10), metrics.CategoricalAccuracy),
])
def test_accuracy_is_resolved_from_the_shapes(output_shape, target_shape, expected):
    metric = metrics.get("accuracy", output_shape, target_shape)
    assert type(metric) is expected and metric.name == "accuracy"


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match="unknown metric 'acuracy'.*'accuracy'"):
        metrics.get("acuracy")


def test_crossentropy_metric_matches_loss():
    m = metrics.get("binary_crossentropy")
    m.update_state(np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]]))
    assert m.result() == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-6)


# --- targets are checked as the losses check them ------------------------------------------


@pytest.mark.parametrize("metric", [metrics.MeanSquaredError(), metrics.MeanAbsoluteError(),
                                    metrics.BinaryAccuracy(), metrics.BinaryCrossentropy(),
                                    metrics.Precision(), metrics.Recall()])
def test_targets_that_would_broadcast_are_refused(metric):
    with pytest.raises(ValueError, match=rf"y_true: {metric.name} needs targets of shape \(10, 1\).*"
                                         r"received shape \(10, 768\)"):
        metric.update_state(np.ones((10, 768)), np.full((10, 1), 0.5))


@pytest.mark.parametrize("metric", [metrics.SparseCategoricalAccuracy(),
                                    metrics.SparseTopKCategoricalAccuracy(k=2),
                                    metrics.SparseCategoricalCrossentropy()])
@pytest.mark.parametrize("label", [-1, 2.5, 4])
def test_labels_are_checked(metric, label):
    with pytest.raises(ValueError, match=rf"y_true: {metric.name} needs integer labels in \[0, 4\); "
                                         rf"received {label}"):
        metric.update_state(np.array([0, label]), np.full((2, 4), 0.25))


def test_one_hot_targets_for_a_sparse_metric_are_explained():
    with pytest.raises(ValueError, match=r"integer labels of shape \(2,\); received shape \(2, 4\) "
                                         r"\(they look one-hot: use 'categorical_accuracy'\)"):
        metrics.SparseCategoricalAccuracy().update_state(np.eye(4)[:2], np.full((2, 4), 0.25))


# --- Keras 3's Metric API, against Keras on JAX -----------------------------------------------

RNG = np.random.default_rng(0)


def true_positives_class(base, ops):
    """Keras's documented example of a subclassed metric, written once for either library."""

    class BinaryTruePositives(base):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros",
                                                    name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_true = ops.cast(y_true, "bool")
            y_pred = ops.cast(y_pred, "bool")
            values = ops.logical_and(ops.equal(y_true, True), ops.equal(y_pred, True))
            values = ops.cast(values, self.dtype)
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, self.dtype)
                values = ops.multiply(values, sample_weight)
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives

    return BinaryTruePositives


@needs_keras
def test_a_subclassed_metric_runs_as_in_keras():
    ours = true_positives_class(metrics.Metric, ops)()
    theirs = true_positives_class(keras.metrics.Metric, keras.ops)()
    batches = [(np.array([1, 0, 1, 1]), np.array([1, 1, 1, 0]), None),
               (np.array([1, 1, 0]), np.array([1, 1, 1]), np.array([2.0, 0.5, 3.0]))]
    for y_true, y_pred, weight in batches:
        ours.update_state(y_true, y_pred, sample_weight=weight)
        theirs.update_state(y_true, y_pred, sample_weight=weight)
        assert float(ours.result()) == float(theirs.result())
    assert float(ours.result()) == 4.5
    assert "value=4.5" in repr(ours.result())  # printable, with its value, as Keras's variable
    # calling updates, then returns the result
    assert float(ours(np.array([1]), np.array([1]))) == float(theirs(np.array([1]), np.array([1])))
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables] == [
        "binary_true_positives/true_positives"]
    assert ours.dtype == theirs.dtype == "float32"
    assert ours.get_config() == theirs.get_config() == {"name": "binary_true_positives",
                                                       "dtype": "float32"}
    ours.reset_state()
    theirs.reset_state()
    assert float(ours.result()) == float(theirs.result()) == 0.0
    copy = type(ours).from_config({"name": "tp", "dtype": "float64"})
    assert copy.name == "tp" and copy.variables[0].dtype == np.float32  # add_variable's default
    assert copy.dtype == "float64"


def test_the_base_class_leaves_reset_state_to_the_subclass():
    class Counter(metrics.Metric):
        def __init__(self):
            super().__init__(name="counter")  # must not call reset_state: nothing exists yet
            self.seen = self.add_variable((), "ones", dtype="int64", name="seen")
            self.last = self.add_weight(shape=(2,), name="last")  # no initializer: zeros

        def reset_state(self):
            self.seen.assign(-1)
            self.last.assign([5.0, 5.0])

        def update_state(self, values):
            self.seen.assign_add(1.7)  # an int64 counter: the sum is truncated, as in Keras
            self.last.assign(values)

        def result(self):
            return self.seen

    counter = Counter()
    assert int(counter.seen) == 1 and counter.seen.dtype == np.int64
    assert counter.last.data.tolist() == [0.0, 0.0] and counter.last.aggregation == "sum"
    assert int(counter([1.0, 2.0])) == 2
    counter.reset_state()
    assert int(counter.result()) == -1 and counter.last.data.tolist() == [5.0, 5.0]
    assert not counter.seen.trainable and not counter.seen.requires_grad


def test_default_reset_zeros_variables_and_held_metrics():
    class Both(metrics.Metric):
        def __init__(self):
            super().__init__()
            self.total = self.add_variable((3,), "ones", name="total")
            self.mean = metrics.Mean()
            self.parts = [metrics.Sum(), true_positives_class(metrics.Metric, ops)()]

        def update_state(self, values):
            self.total.assign_add(values)
            self.mean.update_state(values)
            self.parts[0].update_state(values)

        def result(self):
            return ops.sum(self.total) + self.mean.result()

    both = Both()
    assert both.name == "both"
    assert float(both([1.0, 2.0, 3.0])) == 9.0 + 2.0
    assert [v.path for v in both.variables] == ["both/total",
                                                "binary_true_positives/true_positives"]
    both.reset_state()  # zeros, as Keras: not back to the initializer's ones
    assert both.total.data.tolist() == [0.0, 0.0, 0.0]
    assert both.mean.result() == 0.0 and both.parts[0].result() == 0.0


def test_a_subclass_that_forgets_super_init_is_told():
    class Forgot(metrics.Metric):
        def __init__(self):
            self.total = self.add_variable((), "zeros", name="total")

    with pytest.raises(RuntimeError, match=r"Forgot: its __init__ must call super"):
        Forgot()


def test_add_weight_with_the_name_first_is_tf_keras_2_and_warns():
    class Old(metrics.Metric):
        def __init__(self):
            super().__init__(name="old")
            self.total = self.add_weight("total", initializer="zeros")

    with pytest.warns(DeprecationWarning, match=r"add_weight\('total', ...\) passes the name"):
        old = Old()
    assert old.total.path == "old/total" and old.total.shape == ()


@needs_keras
@pytest.mark.parametrize("values, weight", [
    ([1.0, 3.0, 5.0, 7.0], None),
    ([1.0, 3.0, 5.0, 7.0], [1.0, 1.0, 0.0, 0.0]),
    (RNG.normal(size=(4, 3)), None),
    (RNG.normal(size=(4, 3)), RNG.uniform(size=4)),      # one weight per sample
    (RNG.normal(size=(4, 3)), RNG.uniform(size=(4, 1))),
    (RNG.normal(size=(4, 3)), RNG.uniform(size=(4, 3))),  # one weight per value
    (RNG.normal(size=(4, 1)), RNG.uniform(size=4)),
    (RNG.normal(size=(3, 3)), RNG.uniform(size=3)),       # square: the weights go by sample
    (RNG.normal(size=(4, 2, 3)), RNG.uniform(size=(4, 2))),
    (2.5, None), (2.5, 4),
])
def test_mean_and_sum_alone_match_keras(values, weight):
    for ours, theirs in ((metrics.Mean(), keras.metrics.Mean()),
                         (metrics.Sum(), keras.metrics.Sum())):
        for _ in range(2):
            ours.update_state(values, sample_weight=weight)
            theirs.update_state(np.asarray(values, "float32"), sample_weight=(
                None if weight is None else np.asarray(weight, "float32")))
        assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-5)


def test_mean_takes_tensors_as_a_custom_train_step_gives_them():
    tracker = metrics.Mean(name="loss")
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    tracker.update_state((w * w).sum())  # a loss still in the graph
    tracker.update_state(cr.tensor(1.0), sample_weight=cr.tensor(3.0))
    assert tracker.result() == pytest.approx((5.0 + 3.0) / 4.0)
    assert f"{tracker.result():.2f}" == "2.00" and float(tracker.result()) == 2.0
    tracker.reset_state()
    assert tracker.result() == 0.0


@needs_keras
def test_mean_metric_wrapper_runs_a_function_written_in_keras_ops():
    def squared_gap(y_true, y_pred, power=2.0):
        return ops.mean(ops.power(ops.absolute(y_true - y_pred), power), axis=-1)

    def keras_squared_gap(y_true, y_pred, power=2.0):
        return keras.ops.mean(keras.ops.power(keras.ops.absolute(y_true - y_pred), power), axis=-1)

    ours = metrics.MeanMetricWrapper(squared_gap, name="gap", power=3.0)
    theirs = keras.metrics.MeanMetricWrapper(keras_squared_gap, name="gap", power=3.0)
    y_true, y_pred, weight = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 2)), RNG.uniform(size=5)
    ours.update_state(y_true, cr.tensor(y_pred, requires_grad=True), sample_weight=weight)
    theirs.update_state(*(a.astype("float32") for a in (y_true, y_pred, weight)))
    assert ours.name == "gap" and ours.kwargs == {"power": 3.0}
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-5)


Y_BINARY = RNG.integers(0, 2, size=(6, 3)).astype("float32")
P_BINARY = RNG.uniform(0.05, 0.95, size=(6, 3)).astype("float32")
LABELS = np.array([0, 2, 1, 3, 3, 0])
PROBS = RNG.dirichlet(np.ones(4), size=6).astype("float32")
ONE_HOT = np.eye(4, dtype="float32")[LABELS]
REAL_TRUE = RNG.uniform(0.1, 2, size=(6, 3)).astype("float32")
REAL_PRED = RNG.uniform(0.1, 2, size=(6, 3)).astype("float32")
WEIGHT = RNG.uniform(0.5, 2, size=6).astype("float32")

METRIC_CASES = [  # (class name, constructor arguments, y_true, y_pred)
    ("MeanSquaredError", {}, REAL_TRUE, REAL_PRED),
    ("MeanAbsoluteError", {}, REAL_TRUE, REAL_PRED),
    ("MeanAbsolutePercentageError", {}, REAL_TRUE, REAL_PRED),
    ("MeanSquaredLogarithmicError", {}, REAL_TRUE, REAL_PRED),
    ("RootMeanSquaredError", {}, REAL_TRUE, REAL_PRED),
    ("LogCoshError", {}, REAL_TRUE, REAL_PRED),
    ("CosineSimilarity", {}, REAL_TRUE - 1, REAL_PRED - 1),
    ("KLDivergence", {}, ONE_HOT, PROBS),
    ("Poisson", {}, REAL_TRUE, REAL_PRED),
    ("Hinge", {}, Y_BINARY, P_BINARY - 0.5),
    ("SquaredHinge", {}, Y_BINARY, P_BINARY - 0.5),
    ("CategoricalHinge", {}, ONE_HOT, PROBS),
    ("BinaryAccuracy", {}, Y_BINARY, P_BINARY),
    ("BinaryAccuracy", {"threshold": 0.7}, Y_BINARY, P_BINARY),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS, PROBS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, LABELS, PROBS),
    ("BinaryCrossentropy", {}, Y_BINARY, P_BINARY),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, Y_BINARY, P_BINARY),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, ONE_HOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("Precision", {}, Y_BINARY, P_BINARY),
    ("Precision", {"top_k": 1}, Y_BINARY, P_BINARY),
    ("Precision", {"thresholds": 0.3, "class_id": 1}, Y_BINARY, P_BINARY),
    ("Recall", {}, Y_BINARY, P_BINARY),
    ("Recall", {"top_k": 2, "class_id": 2}, Y_BINARY, P_BINARY),
]


@needs_keras
@pytest.mark.parametrize("name, arguments, y_true, y_pred", METRIC_CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_builtin_metrics_alone_match_keras(name, arguments, y_true, y_pred, weighted):
    ours, theirs = getattr(metrics, name)(**arguments), getattr(keras.metrics, name)(**arguments)
    weight = WEIGHT if weighted else None
    for half in (slice(0, 4), slice(4, 6)):  # two batches of different sizes
        w = None if weight is None else weight[half]
        ours.update_state(y_true[half], y_pred[half], sample_weight=w)
        theirs.update_state(y_true[half], y_pred[half], sample_weight=w)
    assert re.fullmatch(rf"{ours.name}(_\d+)?", theirs.name)  # Keras numbers default names
    assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=2e-5, abs=1e-6)
    # from_config(get_config()) makes the same metric
    copy = type(ours).from_config(ours.get_config())
    assert copy.get_config() == ours.get_config() and type(copy) is type(ours)


@needs_keras
@pytest.mark.parametrize("name, arguments, y_true, y_pred", [
    ("binary_accuracy", {}, Y_BINARY, P_BINARY),
    ("binary_accuracy", {}, Y_BINARY[:, :1], P_BINARY[:, 0]),
    ("categorical_accuracy", {}, ONE_HOT, PROBS),
    ("sparse_categorical_accuracy", {}, LABELS, PROBS),
    ("sparse_categorical_accuracy", {}, LABELS[:, None], PROBS),
    ("top_k_categorical_accuracy", {"k": 2}, ONE_HOT, PROBS),
    ("sparse_top_k_categorical_accuracy", {"k": 3}, LABELS, PROBS),
    ("mean_squared_error", {}, REAL_TRUE.tolist(), REAL_PRED.tolist()),
    ("mean_absolute_percentage_error", {}, REAL_TRUE, REAL_PRED),
    ("kl_divergence", {}, ONE_HOT, PROBS),
    ("log_cosh", {}, REAL_TRUE, REAL_PRED),
    ("categorical_hinge", {}, ONE_HOT, PROBS),
    ("sparse_categorical_crossentropy", {}, LABELS, PROBS),
])
def test_metric_functions_match_keras(name, arguments, y_true, y_pred):
    ours = getattr(metrics, name)(y_true, y_pred, **arguments)
    theirs = np.asarray(getattr(keras.metrics, name)(y_true, y_pred, **arguments))
    assert isinstance(ours, cr.Tensor) and ours.shape == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-5, atol=1e-6)


@needs_keras
@pytest.mark.parametrize("identifier", ["mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
                                        "bce", "BCE", "mean_squared_error", "MeanSquaredError",
                                        "kl_divergence", "poisson", "hinge", "cosine_similarity",
                                        "root_mean_squared_error", "log_cosh_error",
                                        "precision", "Recall", "acc", "ACC", "Accuracy"])
def test_keras_3_names_resolve_silently_to_keras_3_metrics(identifier):
    from keras.src.trainers.compile_utils import get_metric

    y_true, y_pred = Y_BINARY[:, :1], P_BINARY[:, :1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = metrics.get(identifier, (None, 1), (None, 1))
    theirs = get_metric(identifier, y_true, y_pred)
    assert type(ours).__name__ == type(theirs).__name__ and ours.name == theirs.name == identifier
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    assert float(ours.result()) == pytest.approx(float(theirs.result()), rel=1e-5)


@pytest.mark.parametrize("identifier, output_shape, target_shape, expected", [
    ("crossentropy", (None, 1), (None, 1), metrics.BinaryCrossentropy),
    ("ce", (None, 4), (None,), metrics.SparseCategoricalCrossentropy),
    ("CE", (None, 4), (None, 1), metrics.SparseCategoricalCrossentropy),
    ("crossentropy", (None, 4), (None, 4), metrics.CategoricalCrossentropy),
    ("kullback_leibler_divergence", None, None, metrics.KLDivergence),
    ("logcosh", None, None, metrics.LogCoshError),
    ("log_cosh", None, None, metrics.LogCoshError),
    ("cosine_proximity", None, None, metrics.CosineSimilarity),
])
def test_tf_keras_2_metric_names_resolve_with_a_deprecation_warning(identifier, output_shape,
                                                                     target_shape, expected):
    with pytest.warns(DeprecationWarning, match=f"{identifier!r} is a tf.keras 2 metric name"):
        metric = metrics.get(identifier, output_shape, target_shape)
    assert type(metric) is expected and metric.name == identifier
