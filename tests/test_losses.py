"""Losses against PyTorch (values and gradients), Keras's clipping and reductions by hand, and the
target checks that run before training; Keras 3's other losses, their names and aliases, against
Keras on JAX."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule import losses
from tests.helpers import keras_on_jax

keras = keras_on_jax()

needs_keras = pytest.mark.skipif(keras is None, reason="needs Keras 3 on the JAX backend")

RNG = np.random.default_rng(0)
N, C = 6, 4
LOGITS = RNG.normal(size=(N, C)) * 2
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)
LABELS = RNG.integers(0, C, N)
ONE_HOT = np.eye(C)[LABELS]
REGRESSION = RNG.normal(size=(N, 3)), RNG.normal(size=(N, 3))
BINARY = RNG.uniform(0.05, 0.95, size=(N, 1)), RNG.integers(0, 2, (N, 1)).astype(np.float64)

# (loss, y_true, y_pred, torch function of (prediction tensor) -> scalar). Keras divides
# probabilities by their sum before the log, which changes the gradient (not the value) of
# already-normalized inputs, so the references do too.
CASES = {
    "mse": (losses.MeanSquaredError(), REGRESSION[0], REGRESSION[1],
            lambda p: F.mse_loss(p, torch.tensor(REGRESSION[0]))),
    "mae": (losses.MeanAbsoluteError(), REGRESSION[0], REGRESSION[1],
            lambda p: F.l1_loss(p, torch.tensor(REGRESSION[0]))),
    "huber": (losses.Huber(delta=0.7), REGRESSION[0], REGRESSION[1],
              lambda p: F.huber_loss(p, torch.tensor(REGRESSION[0]), delta=0.7)),
    "bce": (losses.BinaryCrossentropy(), BINARY[1], BINARY[0],
            lambda p: F.binary_cross_entropy(p, torch.tensor(BINARY[1]))),
    "bce_logits": (losses.BinaryCrossentropy(from_logits=True), BINARY[1], LOGITS[:, :1],
                   lambda p: F.binary_cross_entropy_with_logits(p, torch.tensor(BINARY[1]))),
    "cce": (losses.CategoricalCrossentropy(), ONE_HOT, PROBS,
            lambda p: F.nll_loss(torch.log(p / p.sum(1, keepdim=True)), torch.tensor(LABELS))),
    "cce_logits": (losses.CategoricalCrossentropy(from_logits=True), ONE_HOT, LOGITS,
                   lambda p: F.cross_entropy(p, torch.tensor(ONE_HOT))),
    "sparse": (losses.SparseCategoricalCrossentropy(), LABELS, PROBS,
               lambda p: F.nll_loss(torch.log(p / p.sum(1, keepdim=True)), torch.tensor(LABELS))),
    "sparse_logits": (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, LOGITS,
                      lambda p: F.cross_entropy(p, torch.tensor(LABELS))),
    "sparse_logits_column": (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS[:, None],
                             LOGITS, lambda p: F.cross_entropy(p, torch.tensor(LABELS))),
    "cce_smoothing": (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), ONE_HOT,
                      LOGITS, lambda p: F.cross_entropy(p, torch.tensor(LABELS), label_smoothing=0.2)),
}


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case):
    loss, y_true, y_pred, reference = CASES[case]
    p = cr.tensor(y_pred, requires_grad=True)
    value = loss(y_true, p)
    value.backward()
    pt = torch.tensor(y_pred, requires_grad=True)
    expected = reference(pt)
    expected.backward()
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-10)
    np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_float32_stays_float32(case):
    loss, y_true, y_pred, _ = CASES[case]
    p = cr.tensor(y_pred.astype(np.float32), requires_grad=True)
    value = loss(y_true, p)
    value.backward()
    assert value.dtype == np.float32 and p.grad.dtype == np.float32


def test_probabilities_are_clipped_as_keras_does():
    # log(1e-7) is Keras's floor: a confident wrong answer costs -log(1e-7), not infinity
    floor = -np.log(1e-7)
    bce = losses.BinaryCrossentropy()(np.array([[1.0], [0.0]]), cr.tensor([[0.0], [1.0]], dtype="float64"))
    np.testing.assert_allclose(bce.item(), -np.log(1e-7) * 1.0 + 0.0, rtol=1e-6)
    cce = losses.CategoricalCrossentropy()(np.array([[0.0, 1.0]]), cr.tensor([[1.0, 0.0]], dtype="float64"))
    np.testing.assert_allclose(cce.item(), floor, rtol=1e-9)


def test_categorical_crossentropy_renormalizes_probabilities():
    # Keras divides by the sum first: [2, 2] is read as [0.5, 0.5]
    value = losses.CategoricalCrossentropy()(np.array([[1.0, 0.0]]), cr.tensor([[2.0, 2.0]], dtype="float64"))
    np.testing.assert_allclose(value.item(), np.log(2.0), rtol=1e-12)


def test_binary_label_smoothing_by_hand():
    p, y = 0.8, 1.0
    smoothed = y * (1 - 0.1) + 0.05
    expected = -(smoothed * np.log(p) + (1 - smoothed) * np.log(1 - p))
    value = losses.BinaryCrossentropy(label_smoothing=0.1)(np.array([[y]]), cr.tensor([[p]], dtype="float64"))
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)


def test_sample_weight_and_reductions():
    y_true, y_pred = REGRESSION
    per_sample = ((y_true - y_pred) ** 2).mean(axis=1)
    w = RNG.uniform(0, 2, N)
    mse = losses.MeanSquaredError()
    # "sum_over_batch_size" divides by the number of samples, not by the sum of the weights
    np.testing.assert_allclose(mse(y_true, cr.tensor(y_pred), w).item(), (w * per_sample).sum() / N, rtol=1e-12)
    np.testing.assert_allclose(mse(y_true, cr.tensor(y_pred), w[:, None]).item(), (w * per_sample).sum() / N, rtol=1e-12)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction="sum")(y_true, cr.tensor(y_pred)).item(),
                               per_sample.sum(), rtol=1e-12)
    np.testing.assert_allclose(losses.MeanSquaredError(reduction=None)(y_true, cr.tensor(y_pred)).data,
                               per_sample, rtol=1e-12)


def test_rank_of_targets_is_matched():
    # (n,) targets against (n, 1) outputs, as the IMDB model has
    y = np.array([1.0, 0.0, 1.0])
    p = cr.tensor([[0.9], [0.2], [0.6]], dtype="float64")
    expected = -np.mean([np.log(0.9), np.log(0.8), np.log(0.6)])
    np.testing.assert_allclose(losses.BinaryCrossentropy()(y, p).item(), expected, rtol=1e-12)


def test_categorical_with_integer_labels_explains_the_fix():
    with pytest.raises(ValueError, match=r"one-hot targets of shape \(n, 10\); received class labels "
                                         r"of shape \(5,\).*sparse_categorical_crossentropy.*to_categorical\(y, 10\)"):
        losses.get("categorical_crossentropy").check_targets(np.arange(5), (None, 10), "y")


@pytest.mark.parametrize("labels, message", [
    (np.array([0, 3, 10]), r"labels in \[0, 10\); received 10 at index \(2,\)"),
    (np.array([0, -1]), r"received -1 at index \(1,\)"),
    (np.array([0.5, 1.0]), r"received 0.5 at index \(0,\)"),
    (np.eye(10)[:3], "they look one-hot"),
])
def test_sparse_targets_are_checked(labels, message):
    with pytest.raises(ValueError, match=message):
        losses.get("sparse_categorical_crossentropy").check_targets(labels, (None, 10), "y")


def test_binary_targets_are_checked():
    with pytest.raises(ValueError, match=r"targets in \[0, 1\]; received 2.0 at index \(1, 0\)"):
        losses.get("binary_crossentropy").check_targets(np.array([[1.0], [2.0]]), (None, 1), "y")
    with pytest.raises(ValueError, match=r"targets of shape \(n, 3\).*received shape \(4, 2\)"):
        losses.get("mse").check_targets(np.zeros((4, 2)), (None, 3), "y")


def test_unknown_name_lists_the_valid_ones():
    # "crossentropy" itself is a name Keras 3 accepts (see test_crossentropy_is_chosen_...)
    with pytest.raises(ValueError, match="unknown loss 'crosentropy'.*'binary_crossentropy'"):
        losses.get("crosentropy")


def test_function_and_class_identifiers():
    def double_mse(y_true, y_pred):
        return losses.mean_squared_error(y_true, y_pred) * 2.0

    y_true, y_pred = REGRESSION
    value = losses.get(double_mse)(y_true, cr.tensor(y_pred)).item()
    np.testing.assert_allclose(value, 2 * ((y_true - y_pred) ** 2).mean(), rtol=1e-12)
    assert isinstance(losses.get(losses.Huber), losses.Huber)


# --- -inf logits (masked classes) -----------------------------------------------------------

MASKED = np.array([[0.0, -np.inf, 1.0, -np.inf], [2.0, 0.5, -np.inf, 0.0]])
MASKED_LABELS = np.array([0, 3])


@pytest.mark.parametrize("loss, y_true", [
    (losses.CategoricalCrossentropy(from_logits=True), np.eye(4)[MASKED_LABELS]),
    (losses.SparseCategoricalCrossentropy(from_logits=True), MASKED_LABELS),
])
def test_minus_infinity_logits_are_classes_of_probability_zero(loss, y_true):
    # torch's class-index cross-entropy is the reference (its soft-target form gives nan here);
    # [0, -inf, 1, -inf] against class 0 is log(1 + e) = 1.3133
    p = cr.tensor(MASKED, requires_grad=True)
    value = loss(y_true, p)
    value.backward()
    pt = torch.tensor(MASKED, requires_grad=True)
    expected = F.cross_entropy(pt, torch.tensor(MASKED_LABELS))
    expected.backward()
    per_sample = type(loss)(from_logits=True, reduction=None)(y_true, cr.tensor(MASKED))
    np.testing.assert_allclose(per_sample.data[0], np.log1p(np.e), rtol=1e-12)
    np.testing.assert_allclose(value.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad, pt.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert (p.grad[np.isinf(MASKED)] == 0).all()


def test_minus_infinity_logits_in_soft_targets_and_metrics():
    # a soft target that puts mass on a class of probability zero costs infinity; one that puts
    # none there is finite, as above
    loss = losses.CategoricalCrossentropy(from_logits=True, reduction=None)
    values = loss(np.array([[0.5, 0.5, 0.0, 0.0], [0.5, 0.0, 0.0, 0.5]]), cr.tensor(MASKED)).data
    assert values[0] == np.inf
    np.testing.assert_allclose(values[1], -0.5 * (_log_softmax(MASKED[1])[[0, 3]]).sum(), rtol=1e-12)
    metric = cr.metrics.CategoricalCrossentropy(from_logits=True)
    metric.update_state(np.eye(4)[MASKED_LABELS], MASKED)
    np.testing.assert_allclose(metric.result(), F.cross_entropy(
        torch.tensor(MASKED), torch.tensor(MASKED_LABELS)).item(), rtol=1e-12)


def _log_softmax(x):
    finite = x[np.isfinite(x)]
    return x - (finite.max() + np.log(np.exp(finite - finite.max()).sum()))


@pytest.mark.parametrize("loss, y_true", [
    (losses.CategoricalCrossentropy(from_logits=True, reduction=None), np.eye(3)[[0, 1]]),
    (losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None), np.array([0, 1])),
])
# NumPy warns as it makes that nan (log 0, then -inf - -inf), as it does for any 0/0
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_row_of_minus_infinity_logits_is_nan_and_only_that_row(loss, y_true):
    # no class is possible: the softmax is 0/0, undefined, as in PyTorch and Keras; the other
    # rows keep their values and gradients
    logits = np.array([[-np.inf] * 3, [1.0, 2.0, 0.5]])
    p = cr.tensor(logits, requires_grad=True)
    values = loss(y_true, p)
    values.sum().backward()
    assert np.isnan(values.data[0]) and np.isnan(p.grad[0]).all()
    pt = torch.tensor(logits[1:], requires_grad=True)
    expected = F.cross_entropy(pt, torch.tensor([1]), reduction="sum")
    expected.backward()
    np.testing.assert_allclose(values.data[1], expected.item(), rtol=1e-12)
    np.testing.assert_allclose(p.grad[1:], pt.grad.numpy(), rtol=1e-12)
    torch_row = F.cross_entropy(torch.tensor(logits[:1]), torch.tensor([0]))
    assert torch.isnan(torch_row)


# --- targets checked on every direct call ---------------------------------------------------


@pytest.mark.parametrize("label, message", [
    (-1, r"y_true: sparse_categorical_crossentropy needs integer labels in \[0, 10\); received "
         r"-1 at index \(1,\)"),
    (2.5, r"received 2.5 at index \(1,\)"),
    (10, r"received 10 at index \(1,\)"),
])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_labels_are_checked_when_called_directly(label, message, from_logits):
    p = cr.tensor(np.full((2, 10), 0.1))
    with pytest.raises(ValueError, match=message):
        losses.SparseCategoricalCrossentropy(from_logits=from_logits)(np.array([3, label]), p)
    with pytest.raises(ValueError, match=r"integer labels in \[0, 10\)"):
        losses.sparse_categorical_crossentropy(np.array([3, label]), p, from_logits=from_logits)
    with pytest.raises(ValueError, match=r"integer labels in \[0, 10\)"):
        cr.metrics.SparseCategoricalCrossentropy().update_state(np.array([3, label]), p.data)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", "mae", "huber",
                                  "categorical_crossentropy"])
def test_targets_that_would_broadcast_are_refused(loss):
    p = cr.tensor(np.full((10, 1), 0.5))
    with pytest.raises(ValueError, match=rf"y_true: {loss} needs targets of shape \(10, 1\).*"
                                         r"received shape \(10, 768\)"):
        losses.get(loss)(np.ones((10, 768)), p)
    with pytest.raises(ValueError, match=r"needs targets of shape \(10, 1\).*received shape \(9, 1\)"):
        losses.get(loss)(np.ones((9, 1)), p)


@pytest.mark.parametrize("y_shape, p_shape", [((6,), (6, 1)), ((6, 1), (6, 1)), ((6, 1), (6,)),
                                              ((6, 4, 1), (6, 4)), ((6, 4), (6, 4, 1))])
def test_a_trailing_axis_of_one_may_be_added_or_dropped_as_in_keras(y_shape, p_shape):
    y, p = RNG.uniform(size=y_shape), RNG.uniform(0.1, 0.9, size=p_shape)
    expected = ((y.reshape(p.shape) - p) ** 2).mean()
    np.testing.assert_allclose(losses.MeanSquaredError()(y, cr.tensor(p)).item(), expected, rtol=1e-6)
    losses.BinaryCrossentropy()(y, cr.tensor(p))


def test_binary_targets_out_of_range_are_refused_when_called_directly():
    with pytest.raises(ValueError, match=r"y_true: binary_crossentropy needs targets in \[0, 1\]; "
                                         r"received 2.0 at index \(1, 0\)"):
        losses.BinaryCrossentropy()(np.array([[1.0], [2.0]]), cr.tensor([[0.5], [0.5]]))


@pytest.mark.parametrize("y_true, message", [
    (np.array([1, 2]), r"one-hot targets of shape \(2, 4\); received class labels of shape \(2,\)"),
    (np.eye(4)[:2], r"integer labels of shape \(2,\); received shape \(2, 4\).*look one-hot"),
])
def test_categorical_and_sparse_confusions_are_explained_on_direct_calls(y_true, message):
    loss = ("sparse_categorical_crossentropy" if y_true.ndim == 2 else "categorical_crossentropy")
    with pytest.raises(ValueError, match=message):
        losses.get(loss)(y_true, cr.tensor(np.full((2, 4), 0.25)))


def test_sample_weight_of_the_wrong_length_is_refused():
    y, p = REGRESSION
    with pytest.raises(ValueError, match=r"mean_squared_error: sample_weight of shape \(3,\) does "
                                         r"not fit the per-sample losses of shape \(6,\)"):
        losses.MeanSquaredError()(y, cr.tensor(p), np.ones(3))


def test_python_float_targets_reach_a_float64_loss_at_full_precision():
    # read as float32 first, 0.1 would be off by 1.5e-9
    value = losses.MeanAbsoluteError()([[0.1]], cr.tensor(np.zeros((1, 1))))
    assert value.item() == 0.1


def test_infinite_logits_in_binary_crossentropy_cost_what_their_targets_say():
    # -inf with target 0 and +inf with target 1 are certain and right: 0, not 0 * inf = nan
    loss = losses.BinaryCrossentropy(from_logits=True, reduction=None)
    p = cr.tensor([[-np.inf], [np.inf], [-np.inf], [0.0]], requires_grad=True)
    values = loss(np.array([[0.0], [1.0], [1.0], [1.0]]), p)
    values.sum().backward()
    np.testing.assert_allclose(values.data, [0.0, 0.0, np.inf, np.log(2)])
    np.testing.assert_allclose(p.grad[:, 0], [0.0, 0.0, -1.0, -0.5])


# --- Keras 3's other losses, names and aliases, against Keras on JAX ---------------------------

POSITIVE = RNG.uniform(0.1, 2, size=(N, 3)), RNG.uniform(0.1, 2, size=(N, 3))
SIGNS = RNG.integers(0, 2, size=(N, 3)).astype(np.float64), RNG.normal(size=(N, 3))

# (function name, y_true, y_pred, keyword arguments): Keras's per-sample functions
FUNCTIONS = [
    ("mean_squared_error", *REGRESSION, {}),
    ("mean_absolute_error", *REGRESSION, {}),
    ("mean_absolute_percentage_error", *REGRESSION, {}),
    ("mean_squared_logarithmic_error", *POSITIVE, {}),
    ("kl_divergence", ONE_HOT, PROBS, {}),
    ("log_cosh", *REGRESSION, {}),
    ("poisson", *POSITIVE, {}),
    ("hinge", *SIGNS, {}),
    ("hinge", SIGNS[0] * 2 - 1, SIGNS[1], {}),  # -1/1 targets are taken as they are
    ("squared_hinge", *SIGNS, {}),
    ("categorical_hinge", ONE_HOT, LOGITS, {}),
    ("cosine_similarity", *REGRESSION, {}),
    ("cosine_similarity", *REGRESSION, {"axis": 0}),
    ("huber", *REGRESSION, {"delta": 0.7}),
    ("binary_crossentropy", BINARY[1], BINARY[0], {"label_smoothing": 0.1}),
    ("categorical_crossentropy", ONE_HOT, LOGITS, {"from_logits": True}),
    ("sparse_categorical_crossentropy", LABELS, PROBS, {}),
    ("sparse_categorical_crossentropy", LABELS[:, None], PROBS, {}),
]


@needs_keras
@pytest.mark.parametrize("name, y_true, y_pred, kwargs", FUNCTIONS)
def test_per_sample_functions_match_keras(name, y_true, y_pred, kwargs):
    ours = getattr(losses, name)(y_true.astype("float32").tolist(), y_pred.astype("float32"),
                                 **kwargs)  # lists and arrays are taken, as by Keras
    theirs = np.asarray(getattr(keras.losses, name)(y_true.astype("float32"),
                                                    y_pred.astype("float32"), **kwargs))
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name, y_true, y_pred, kwargs",
                         [case for case in FUNCTIONS if "sparse" not in case[0]])
def test_per_sample_functions_pass_gradcheck(name, y_true, y_pred, kwargs):
    fn = getattr(losses, name)
    y_pred = cr.tensor(y_pred, dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda p: fn(y_true, p, **kwargs), y_pred)


def test_a_rank_1_prediction_meets_column_targets_as_in_keras():
    values = losses.mean_squared_error(np.ones((4, 1)), np.zeros(4))
    assert values.shape == (4,) and values.numpy().tolist() == [1.0] * 4


def test_cosine_similarity_of_a_zero_vector_has_a_finite_gradient():
    y_pred = cr.tensor(np.zeros((2, 3)), requires_grad=True)
    losses.CosineSimilarity()(np.ones((2, 3)), y_pred).backward()
    assert np.isfinite(y_pred.grad).all()


def test_log_cosh_does_not_overflow():
    value = losses.log_cosh(np.zeros((1, 1), "float32"), np.full((1, 1), 200.0, "float32"))
    assert value.numpy()[0] == pytest.approx(200.0 - np.log(2.0))


@needs_keras
@pytest.mark.parametrize("identifier", ["mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
                                        "kld", "KLD", "bce", "BCE", "mean_squared_error",
                                        "MeanSquaredError", "mean_absolute_percentage_error",
                                        "kl_divergence", "KLDivergence", "log_cosh", "LogCosh",
                                        "poisson", "hinge", "squared_hinge", "categorical_hinge",
                                        "cosine_similarity", "huber", "Huber",
                                        "binary_crossentropy", "BinaryCrossentropy"])
def test_keras_3_names_resolve_silently_to_the_same_loss(identifier):
    from keras.src.trainers.compile_utils import get_loss

    y_true, y_pred = BINARY[1].astype("float32"), BINARY[0].astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.get(identifier)
    theirs = get_loss(identifier, y_true, y_pred)
    assert float(ours(y_true, y_pred)) == pytest.approx(float(theirs(y_true, y_pred)), rel=1e-5)


@needs_keras
@pytest.mark.parametrize("identifier", ["crossentropy", "ce", "CE"])
@pytest.mark.parametrize("y_true, y_pred", [(BINARY[1], BINARY[0]), (LABELS, PROBS),
                                            (LABELS[:, None], PROBS), (ONE_HOT, PROBS)])
def test_crossentropy_is_chosen_from_the_shapes_as_in_keras(identifier, y_true, y_pred):
    from keras.src.trainers.compile_utils import get_loss

    y_true, y_pred = y_true.astype("float32"), y_pred.astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = losses.get(identifier)
    theirs = get_loss(identifier, y_true, y_pred)
    assert ours.name == identifier
    ours.check_targets(y_true, (None,) + y_pred.shape[1:], "y")  # what fit does first
    assert ours.chosen.name == theirs.fn.__name__
    assert float(ours(y_true, y_pred)) == pytest.approx(float(theirs(y_true, y_pred)), rel=1e-5)


@pytest.mark.parametrize("identifier, expected", [
    ("kullback_leibler_divergence", losses.KLDivergence), ("logcosh", losses.LogCosh),
    ("huber_loss", losses.Huber)])
def test_tf_keras_2_loss_names_resolve_with_a_deprecation_warning(identifier, expected):
    with pytest.warns(DeprecationWarning, match=f"{identifier!r} is a tf.keras 2 name") as record:
        loss = losses.get(identifier)
    assert type(loss) is expected and loss.name == identifier
    assert record[0].filename == __file__  # pointed at the caller, so Python shows it
