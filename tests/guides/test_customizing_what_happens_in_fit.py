"""The Keras guide "Customizing what happens in fit()", in its PyTorch version (keras-io
guides/custom_train_step_in_torch.py), run with ``import chainrule as keras``.

chainrule's tensors play torch's part, so a train step reads as the guide's with the torch calls
replaced by chainrule's: the forward pass, ``loss = self.compute_loss(y=y, y_pred=y_pred)``,
``v.grad = None`` for every trainable weight (``self.zero_grad()``), ``loss.backward()``,
``self.optimizer.apply([v.grad for v in self.trainable_weights], self.trainable_weights)``
(``torch.no_grad()`` is not needed: ``apply`` records no graph), then the metrics.

Each custom step is checked against the built-in one: same seed, same data, so the weights after
``fit`` and the per-epoch metrics must be the same.

Adapted: the closing GAN uses Dense layers in place of its Conv2D, Conv2DTranspose and
GlobalMaxPooling2D layers, ``Activation("leaky_relu")`` (slope 0.2, as Keras's) in place of
``LeakyReLU(negative_slope=0.2)`` (issue 13), ``ops`` in place of ``torch.concat`` and
``torch.ones``, and arrays passed to ``fit`` in place of a torch DataLoader, on the first 4,096
digits instead of all 70,000.
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, ops


def numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def zero_grad(model):
    """``torch.nn.Module.zero_grad()``: clears the leftover gradients of the previous step."""
    for v in model.trainable_weights:
        v.grad = None


def regression_data():
    rng = np.random.default_rng(0)
    return rng.random((1000, 32)), rng.random((1000, 1)), rng.random((1000, 1))


def fit_twice(model_class, compile_kwargs, fit_kwargs, reference_compile=None):
    """Trains ``model_class`` and a plain Model from the same seed on the same data; returns
    both models and histories."""
    results = []
    for cls, kwargs in ((model_class, compile_kwargs), (keras.Model, reference_compile or compile_kwargs)):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = cls(inputs, outputs)
        model.compile(**kwargs)
        results.append((model, model.fit(verbose=0, **fit_kwargs)))
    return results


def assert_same_weights(model, reference):
    for ours, theirs in zip(model.trainable_weights, reference.trainable_weights):
        np.testing.assert_allclose(numpy(ours), numpy(theirs), rtol=1e-6, atol=1e-7)


# --- A first simple example -----------------------------------------------------------------------


class CustomModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and
        # on what you pass to `fit()`.
        x, y = data

        # Compute loss
        y_pred = self(x, training=True)  # Forward pass
        loss = self.compute_loss(y=y, y_pred=y_pred)

        # Clear the leftover gradients of the previous step, then compute the gradients
        # for the weights.
        zero_grad(self)
        loss.backward()

        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]

        # Update weights
        self.optimizer.apply(gradients, trainable_weights)

        # Update metrics (includes the metric that tracks the loss)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)

        # Return a dict mapping metric names to current value
        # Note that it will include the loss (tracked in self.metrics).
        return {m.name: m.result() for m in self.metrics}


def test_a_first_simple_example():
    x, y, _ = regression_data()
    (model, history), (reference, expected) = fit_twice(
        CustomModel, dict(optimizer="adam", loss="mse", metrics=["mae"]), dict(x=x, y=y, epochs=3))

    assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    assert set(history.history) == {"loss", "mae"}
    assert_same_weights(model, reference)
    np.testing.assert_allclose(history.history["mae"], expected.history["mae"], rtol=1e-6)
    # the guide's loss metric weighs each batch alike, fit's weighs by batch size (31 batches of
    # 32 and one of 8)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=2e-2)
    assert history.history["loss"][-1] < history.history["loss"][0]


# --- Going lower-level ----------------------------------------------------------------------------


class LowerLevelModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data

        # Compute loss
        y_pred = self(x, training=True)  # Forward pass
        loss = self.loss_fn(y, y_pred)

        zero_grad(self)
        loss.backward()

        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]

        # Update weights
        self.optimizer.apply(gradients, trainable_weights)

        # Compute our own metrics
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {
            "loss": self.loss_tracker.result(),
            "mae": self.mae_metric.result(),
        }

    @property
    def metrics(self):
        # We list our `Metric` objects here so that `reset_states()` can be
        # called automatically at the start of each epoch
        # or at the start of `evaluate()`.
        return [self.loss_tracker, self.mae_metric]


def test_going_lower_level():
    x, y, _ = regression_data()
    # We don't pass a loss or metrics here.
    (model, history), (reference, expected) = fit_twice(
        LowerLevelModel, dict(optimizer="adam"), dict(x=x, y=y, epochs=5),
        reference_compile=dict(optimizer="adam", loss="mse", metrics=["mae"]))

    assert set(history.history) == {"loss", "mae"}
    assert_same_weights(model, reference)
    # the same values as fit's own metrics, which it resets each epoch: so are these
    np.testing.assert_allclose(history.history["mae"], expected.history["mae"], rtol=1e-6)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=2e-2)


# --- Supporting sample_weight & class_weight ------------------------------------------------------


class WeightedModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and
        # on what you pass to `fit()`.
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data

        # Compute loss
        y_pred = self(x, training=True)  # Forward pass
        loss = self.compute_loss(
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
        )

        zero_grad(self)
        loss.backward()

        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]

        # Update weights
        self.optimizer.apply(gradients, trainable_weights)

        # Update metrics (includes the metric that tracks the loss)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)

        # Return a dict mapping metric names to current value
        # Note that it will include the loss (tracked in self.metrics).
        return {m.name: m.result() for m in self.metrics}


def test_supporting_sample_weight():
    x, y, sw = regression_data()
    # You can now use sample_weight argument
    (model, history), (reference, expected) = fit_twice(
        WeightedModel, dict(optimizer="adam", loss="mse", metrics=["mae"]),
        dict(x=x, y=y, sample_weight=sw, epochs=3))

    assert set(history.history) == {"loss", "mae"}
    assert_same_weights(model, reference)
    np.testing.assert_allclose(history.history["mae"], expected.history["mae"], rtol=1e-6)

    # and the weights matter: without them training ends elsewhere
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(32,))
    unweighted = WeightedModel(inputs, keras.layers.Dense(1)(inputs))
    unweighted.compile(optimizer="adam", loss="mse", metrics=["mae"])
    unweighted.fit(x, y, epochs=3, verbose=0)
    assert not np.allclose(numpy(unweighted.trainable_weights[0]), numpy(model.trainable_weights[0]))


# --- Providing your own evaluation step -----------------------------------------------------------


class EvaluatingModel(keras.Model):
    def test_step(self, data):
        # Unpack the data
        x, y = data
        # Compute predictions
        y_pred = self(x, training=False)
        # Updates the metrics tracking the loss
        loss = self.compute_loss(y=y, y_pred=y_pred)
        # Update the metrics.
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        # Return a dict mapping metric names to current value.
        # Note that it will include the loss (tracked in self.metrics).
        return {m.name: m.result() for m in self.metrics}


def test_providing_your_own_evaluation_step():
    x, y, _ = regression_data()
    results = []
    for cls in (EvaluatingModel, keras.Model):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = cls(inputs, outputs)
        model.compile(loss="mse", metrics=["mae"])
        # Evaluate with our custom test_step
        results.append(model.evaluate(x, y, verbose=0, return_dict=True))

    ours, expected = results
    assert set(ours) == {"loss", "mae"}
    assert ours["mae"] == pytest.approx(expected["mae"], rel=1e-6)
    assert ours["loss"] == pytest.approx(expected["loss"], rel=2e-2)
    y_pred = numpy(model(x))
    assert ours["mae"] == pytest.approx(np.mean(np.abs(y - y_pred)), rel=1e-5)


# --- Wrapping up: an end-to-end GAN example (Dense layers in place of convolutions) ---------------


class GAN(keras.Model):
    def __init__(self, discriminator, generator, latent_dim):
        super().__init__()
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = latent_dim
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def compile(self, d_optimizer, g_optimizer, loss_fn):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_fn = loss_fn

    def train_step(self, real_images):
        if isinstance(real_images, tuple) or isinstance(real_images, list):
            real_images = real_images[0]
        # Sample random points in the latent space
        batch_size = real_images.shape[0]
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )

        # Decode them to fake images
        generated_images = self.generator(random_latent_vectors)

        # Combine them with real images
        combined_images = ops.concatenate([generated_images, real_images], axis=0)

        # Assemble labels discriminating real from fake images
        labels = ops.concatenate(
            [
                ops.ones((batch_size, 1)),
                ops.zeros((batch_size, 1)),
            ],
            axis=0,
        )
        # Add random noise to the labels - important trick!
        labels += 0.05 * keras.random.uniform(labels.shape, seed=self.seed_generator)

        # Train the discriminator
        zero_grad(self)
        predictions = self.discriminator(combined_images)
        d_loss = self.loss_fn(labels, predictions)
        d_loss.backward()
        grads = [v.grad for v in self.discriminator.trainable_weights]
        self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

        # Sample random points in the latent space
        random_latent_vectors = keras.random.normal(
            shape=(batch_size, self.latent_dim), seed=self.seed_generator
        )

        # Assemble labels that say "all real images"
        misleading_labels = ops.zeros((batch_size, 1))

        # Train the generator (note that we should *not* update the weights
        # of the discriminator)!
        zero_grad(self)
        predictions = self.discriminator(self.generator(random_latent_vectors))
        g_loss = self.loss_fn(misleading_labels, predictions)
        g_loss.backward()
        grads = [v.grad for v in self.generator.trainable_weights]
        self.g_optimizer.apply(grads, self.generator.trainable_weights)

        # Update metrics and return their value.
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {
            "d_loss": self.d_loss_tracker.result(),
            "g_loss": self.g_loss_tracker.result(),
        }


latent_dim = 128


def dense_discriminator_and_generator():
    # Create the discriminator
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Flatten(),
            layers.Dense(64),
            layers.Activation("leaky_relu"),
            layers.Dense(1),
        ],
        name="discriminator",
    )

    # Create the generator
    generator = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(7 * 7 * 16),
            layers.Activation("leaky_relu"),
            layers.Dense(28 * 28, activation="sigmoid"),
            layers.Reshape((28, 28, 1)),
        ],
        name="generator",
    )
    return discriminator, generator


def test_an_end_to_end_gan(shared_data):
    discriminator, generator = dense_discriminator_and_generator()

    # Prepare the dataset. We use both the training & test MNIST digits.
    batch_size = 64
    (x_train, _), (x_test, _) = keras.datasets.mnist.load_data()
    all_digits = np.concatenate([x_train, x_test])[:4096]
    all_digits = all_digits.astype("float32") / 255.0
    all_digits = np.reshape(all_digits, (-1, 28, 28, 1))

    gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    before = {id(v): numpy(v).copy() for v in gan.trainable_weights}

    history = gan.fit(all_digits, all_digits, batch_size=batch_size, epochs=1, verbose=0)

    assert set(history.history) == {"d_loss", "g_loss"}
    assert [layer.name for layer in gan.layers] == ["discriminator", "generator"]
    assert all(not np.array_equal(before[id(v)], numpy(v)) for v in gan.trainable_weights)
    d_loss, g_loss = history.history["d_loss"][0], history.history["g_loss"][0]
    assert 0.0 < d_loss < 0.7 < g_loss  # the discriminator wins the first epoch


def test_fit_runs_a_built_model_without_call():
    class OnlyTrainStep(keras.Model):
        def __init__(self):
            super().__init__()
            self.inner = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
            self.built = True

        def train_step(self, data):
            x, y = data
            return {"batch": float(len(x))}

    model = OnlyTrainStep()
    model.compile()
    history = model.fit(np.ones((4, 2)), np.ones((4, 2)), batch_size=2, verbose=0)
    assert history.history == {"batch": [2.0]}


def test_binary_crossentropy_takes_noisy_labels():
    loss = keras.losses.BinaryCrossentropy(from_logits=True)(np.array([[1.02]]), np.array([[0.3]]))
    assert float(numpy(loss)) == pytest.approx(0.5483553, rel=1e-5)  # Keras 3's value


def test_the_leaky_relu_layer_of_the_gan():
    layer = layers.LeakyReLU(negative_slope=0.2)
    np.testing.assert_allclose(numpy(layer(np.array([[-1.0, 2.0]], "float32"))), [[-0.2, 2.0]])
