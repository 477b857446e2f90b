"""The confusion-count metrics (AUC, Precision/Recall at thresholds, TruePositives..., the "at"
metrics), F1Score/FBetaScore, the IoU metrics and R2Score against Keras 3 on JAX: three weighted
batches streamed through both, results compared; their configs, names, and a compile + fit that
logs them under Keras's names."""

import re
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import metrics
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")
# Keras's IoU metrics ask JAX for int64 class ids, which it gives as int32, with a warning
pytestmark = pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")

N, C = 8, 3


def _batches(kind, seed):
    """Three (y_true, y_pred, sample_weight) batches, float32. (All of one size: Keras on JAX
    compiles each operation once per shape, and new shapes would make these tests slow.)"""
    rng = np.random.default_rng(seed)
    out = []
    for n in (N, N, N):
        weight = rng.uniform(0.2, 2.0, n).astype("float32")
        if kind == "binary":  # one prediction a row, some exactly on a threshold
            y = rng.integers(0, 2, (n, 1)).astype("float32")
            p = rng.uniform(0, 1, (n, 1))
            p[:3] = np.round(p[:3] * 199) / 199  # on AUC's thresholds
            p[3] = 0.5
            out.append((y, p.astype("float32"), weight))
        elif kind == "multi":  # multi-label: correlated scores, soft and integer targets mixed
            y = rng.integers(0, 2, (n, C)).astype("float32")
            p = np.clip(0.35 * y + rng.uniform(0, 0.65, (n, C)), 0, 1).astype("float32")
            out.append((y, p, weight))
        elif kind == "logits":
            y = rng.integers(0, 2, (n, C)).astype("float32")
            out.append((y, (rng.normal(size=(n, C)) * 2 + y).astype("float32"), weight))
        elif kind == "classes":  # one-hot targets against class scores
            labels = rng.integers(0, C, n)
            scores = rng.dirichlet(np.ones(C), n) + 0.3 * np.eye(C)[labels]
            out.append((np.eye(C, dtype="float32")[labels], scores.astype("float32"), weight))
        elif kind == "ids":  # class ids, for the sparse IoU metrics
            out.append((rng.integers(0, C, n), rng.integers(0, C, n),
                        rng.integers(1, 4, n).astype("float32")))
        elif kind == "regression":
            y = rng.normal(size=(n, C)).astype("float32")
            out.append((y, (y + rng.normal(size=(n, C)) * 0.5).astype("float32"), weight))
    return out


CASES = [  # (class name, constructor arguments, batches)
    ("AUC", {}, "binary"),
    ("AUC", {}, "multi"),
    ("AUC", {"curve": "PR"}, "multi"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "multi"),
    ("AUC", {"curve": "ROC", "summation_method": "majoring"}, "multi"),
    ("AUC", {"curve": "PRGAIN"}, "multi"),
    ("AUC", {"num_thresholds": 7}, "binary"),
    ("AUC", {"thresholds": [0.7, 0.1, 0.5, 0.25]}, "multi"),
    ("AUC", {"thresholds": [0.25, 0.5, 0.75]}, "multi"),  # evenly spread: counted by buckets
    ("AUC", {"multi_label": True}, "multi"),
    ("AUC", {"multi_label": True, "curve": "PR", "label_weights": [0.2, 1.0, 0.5]}, "multi"),
    ("AUC", {"multi_label": True, "num_labels": 3, "thresholds": [0.3, 0.6]}, "multi"),
    ("AUC", {"label_weights": [0.2, 1.0, 0.5]}, "multi"),
    ("AUC", {"from_logits": True}, "logits"),
    ("Precision", {"thresholds": [0.1, 0.5, 0.9]}, "multi"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "multi"),  # evenly spread: buckets
    ("Precision", {"top_k": 2}, "classes"),
    ("Precision", {"thresholds": 0.4, "class_id": 2}, "multi"),
    ("Recall", {"thresholds": [0.2, 0.5, 0.8]}, "multi"),
    ("Recall", {"top_k": 1, "class_id": 0}, "classes"),
    ("TruePositives", {}, "multi"),
    ("FalsePositives", {"thresholds": [0.3, 0.6]}, "multi"),
    ("TrueNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multi"),
    ("FalseNegatives", {}, "binary"),
    ("PrecisionAtRecall", {"recall": 0.6}, "multi"),
    ("PrecisionAtRecall", {"recall": 0.8, "num_thresholds": 1}, "multi"),
    ("RecallAtPrecision", {"precision": 0.7}, "multi"),
    ("RecallAtPrecision", {"precision": 0.6, "class_id": 1}, "multi"),
    ("SensitivityAtSpecificity", {"specificity": 0.5}, "binary"),
    ("SpecificityAtSensitivity", {"sensitivity": 0.5, "num_thresholds": 20}, "multi"),
    ("F1Score", {}, "classes"),
    ("F1Score", {"average": "micro"}, "classes"),
    ("F1Score", {"average": "macro", "threshold": 0.4}, "classes"),
    ("F1Score", {"average": "weighted"}, "multi"),
    ("FBetaScore", {"beta": 2.0, "average": "macro", "threshold": 0.5}, "multi"),
    ("FBetaScore", {"beta": 0.5}, "classes"),
    ("MeanIoU", {"num_classes": C}, "ids"),
    ("MeanIoU", {"num_classes": C, "ignore_class": 1}, "ids"),
    ("MeanIoU", {"num_classes": C, "sparse_y_true": False, "sparse_y_pred": False}, "classes"),
    ("IoU", {"num_classes": C, "target_class_ids": [0, 2]}, "ids"),
    ("BinaryIoU", {}, "binary"),
    ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary"),
    ("OneHotMeanIoU", {"num_classes": C}, "classes"),
    ("OneHotIoU", {"num_classes": C, "target_class_ids": [1]}, "classes"),
    ("R2Score", {}, "regression"),
    ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    ("R2Score", {"class_aggregation": None}, "regression"),
    ("R2Score", {"num_regressors": 2}, "regression"),
    ("TopKCategoricalAccuracy", {"k": 2}, "classes"),
    ("RootMeanSquaredError", {}, "regression"),
]


def _keras_metric(name, arguments):
    arguments = dict(arguments)
    if "IoU" in name:
        # Keras's IoU metrics default to an integer dtype (float weights would be truncated);
        # integer weights are used here, and float32 counts them the same
        arguments["dtype"] = "float32"
    return getattr(keras.metrics, name)(**arguments)


UNWEIGHTED = [case for case in CASES if case[0] in ("MeanIoU", "R2Score", "F1Score")
              or case in (("AUC", {}, "multi"), ("AUC", {"curve": "PR"}, "multi"),
                          ("Precision", {"thresholds": [0.1, 0.5, 0.9]}, "multi"))]


@needs_keras
@pytest.mark.parametrize("name, arguments, kind, weighted",
                         [(*case, True) for case in CASES]
                         + [(*case, False) for case in UNWEIGHTED])
def test_streamed_batches_match_keras(name, arguments, kind, weighted):
    ours, theirs = getattr(metrics, name)(**arguments), _keras_metric(name, arguments)
    for y_true, y_pred, weight in _batches(kind, seed=len(name) + 3 * weighted):
        w = weight if weighted else None
        ours.update_state(y_true, y_pred, sample_weight=w)
        theirs.update_state(y_true, y_pred, sample_weight=w)
    expected = np.asarray(theirs.result(), dtype=np.float64)
    result = ours.result()
    assert np.shape(result) == expected.shape
    assert isinstance(result, float) if expected.ndim == 0 else result.dtype == np.float64
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-5)  # Keras counts in float32
    assert re.fullmatch(rf"{ours.name}(_\d+)?", theirs.name)  # Keras numbers default names
    # reset_state starts over: the same batches give the same result
    ours.reset_state()
    for y_true, y_pred, weight in _batches(kind, seed=len(name) + 3 * weighted):
        ours.update_state(y_true, y_pred, sample_weight=weight if weighted else None)
    np.testing.assert_allclose(ours.result(), expected, rtol=1e-5, atol=1e-5)


@needs_keras
@pytest.mark.parametrize("name, arguments, kind", CASES)
def test_config_round_trips_and_has_keras_keys(name, arguments, kind):
    ours = getattr(metrics, name)(**arguments)
    theirs = _keras_metric(name, arguments)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    copy = type(ours).from_config(config)
    assert type(copy) is type(ours) and copy.get_config() == config
    keras_config = theirs.get_config()
    for key, value in config.items():
        if key not in ("name", "dtype"):
            expected = keras_config[key]
            expected = np.asarray(expected).tolist() if expected is not None and not isinstance(
                expected, (str, bool, int, float, list, tuple)) else expected
            expected = list(expected) if isinstance(expected, tuple) else expected
            if key == "label_weights" and expected is not None:  # Keras keeps float32 values
                assert value == pytest.approx(expected, rel=1e-6)
            else:
                assert value == expected, key


def test_auc_of_a_perfect_and_an_inverted_ranking():
    y = np.array([0, 0, 1, 1], "float32")
    assert metrics.AUC()(y, np.array([0.1, 0.2, 0.8, 0.9])) == pytest.approx(1.0)
    assert metrics.AUC()(y, np.array([0.9, 0.8, 0.2, 0.1])) == pytest.approx(0.0)
    # ROC area by hand: one positive ranked below one negative of four pairs, 3/4
    assert metrics.AUC(num_thresholds=1000)(y, np.array([0.1, 0.6, 0.4, 0.9])) == \
        pytest.approx(0.75, abs=1e-3)


def test_precision_at_several_thresholds_by_hand():
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.4, 0.6, 0.1, 0.8])
    precision = metrics.Precision(thresholds=[0.3, 0.5, 0.85])
    recall = metrics.Recall(thresholds=[0.3, 0.5, 0.85])
    precision.update_state(y, p)
    recall.update_state(y, p)
    np.testing.assert_allclose(precision.result(), [3 / 4, 2 / 3, 1.0])
    np.testing.assert_allclose(recall.result(), [1.0, 2 / 3, 1 / 3])


def test_nonzero_targets_are_positive_as_in_keras():
    # Keras reads targets as booleans: a soft target of 0.3 is a positive
    tp = metrics.TruePositives()
    tp.update_state(np.array([0.3, 0.0, 1.0]), np.array([0.9, 0.9, 0.9]))
    assert tp.result() == 2.0


def test_f1_score_by_hand():
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], "float32")
    p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]], "float32")
    f1 = metrics.F1Score()  # per class: class 0 has TP 1, FP 1, FN 1 -> 0.5; class 1 the same
    f1.update_state(y, p)
    np.testing.assert_allclose(f1.result(), [0.5, 0.5], rtol=1e-6)
    assert metrics.F1Score(average="macro")(y, p) == pytest.approx(0.5, rel=1e-6)


def test_mean_iou_by_hand():
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])  # each class: TP 1, FP 1, FN 1 -> 1/3
    assert m.result() == pytest.approx(1 / 3, rel=1e-6)


def test_r2_score_by_hand():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.0], [3.0], [5.0]])  # SSR 1, SST 5
    assert metrics.R2Score()(y, p) == pytest.approx(1 - 1 / 5)


@pytest.mark.parametrize("make, message", [
    (lambda: metrics.Precision(thresholds=[0.5, 1.5]), "thresholds must be numbers in"),
    (lambda: metrics.Recall(top_k=0), "top_k must be"),
    (lambda: metrics.AUC(num_thresholds=1), "num_thresholds must be an integer > 1"),
    (lambda: metrics.AUC(curve="XY"), "curve must be"),
    (lambda: metrics.AUC(summation_method="mid"), "summation_method must be"),
    (lambda: metrics.AUC(num_labels=3), "num_labels is needed only when multi_label"),
    (lambda: metrics.PrecisionAtRecall(recall=1.5), "recall must be in"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
    (lambda: metrics.F1Score(average="mean"), "average must be one of"),
    (lambda: metrics.FBetaScore(beta=0.0), "beta must be a number > 0"),
    (lambda: metrics.F1Score(threshold=1.5), "threshold must be None or"),
    (lambda: metrics.IoU(num_classes=3, target_class_ids=[3]), "target_class_ids must be"),
    (lambda: metrics.MeanIoU(num_classes=0), "num_classes must be a positive integer"),
    (lambda: metrics.R2Score(class_aggregation="mean"), "class_aggregation must be"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors must be"),
])
def test_bad_arguments_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="multi_label=True, y_pred must have rank 2"):
        metrics.AUC(multi_label=True).update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="shape"):
        metrics.F1Score().update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="class_id 5 is out of range"):
        metrics.Precision(class_id=5).update_state(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="y_true"):
        metrics.AUC().update_state(np.ones((4, 2)), np.ones((4, 3)))


@needs_keras
@pytest.mark.parametrize("identifier", ["auc", "AUC", "precision", "recall", "f1_score",
                                        "F1Score", "fbeta_score", "FBetaScore", "r2_score",
                                        "R2Score", "true_positives", "false_negatives",
                                        "TrueNegatives", "binary_io_u", "BinaryIoU",
                                        "top_k_categorical_accuracy", "root_mean_squared_error"])
def test_names_resolve_as_in_keras(identifier):
    from keras.src.trainers.compile_utils import get_metric

    y_true, y_pred = _batches("multi", 0)[0][:2]
    try:
        theirs = get_metric(identifier, y_true, y_pred)
    except ValueError:
        theirs = None  # a name Keras does not resolve must not resolve here either
    if theirs is None:
        with pytest.raises(ValueError, match="unknown metric"):
            metrics.get(identifier)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = metrics.get(identifier)
    assert type(ours).__name__ == type(theirs).__name__ and ours.name == theirs.name


def test_metrics_that_need_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match=r"needs arguments \(num_classes\).*MeanIoU\(num_classes"):
        metrics.get("mean_io_u")


def test_compile_and_fit_log_keras_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.normal(size=(64, 1)) > 0).astype("float32")
    cr.utils.set_random_seed(0)
    model = cr.Sequential([cr.Input((4,)), cr.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=cr.optimizers.Adam(0.1), loss="binary_focal_crossentropy",
                  metrics=["auc", "precision", "recall", metrics.AUC(curve="PR", name="pr_auc"),
                           metrics.F1Score(average="macro", threshold=0.5),
                           metrics.PrecisionAtRecall(0.5), "true_positives"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25)
    names = ["auc", "precision", "recall", "pr_auc", "f1_score", "precision_at_recall",
             "true_positives"]
    assert set(history.history) == {"loss", "val_loss", *names, *(f"val_{n}" for n in names)}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert 0.8 < history.history["auc"][-1] <= 1.0  # the classes are nearly separable
    # evaluate gives the same AUC as the metric on the predictions
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert results["auc"] == pytest.approx(metrics.AUC()(y, model.predict(x, verbose=0)),
                                           rel=1e-6)
    # the compiled metrics save and load
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = cr.models.load_model(path)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(results)


def test_array_results_are_logged_as_arrays_as_in_keras(capsys):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    model = cr.Sequential([cr.Input((4,)), cr.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy",
                  metrics=[metrics.F1Score(), metrics.Precision(thresholds=[0.2, 0.5])])
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=1)
    f1 = history.history["f1_score"][0]
    assert f1.shape == (3,) and history.history["precision"][0].shape == (2,)
    expected = metrics.F1Score()(y, model.predict(x, verbose=0))
    assert capsys.readouterr().out.count("f1_score: ") == 1  # the progress bar shows the mean
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(results["f1_score"], expected, rtol=1e-6)
