"""Metrics against hand computations, and the choice behind 'accuracy'."""

import numpy as np
import pytest

from chainrule import metrics


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
