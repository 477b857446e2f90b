"""The Keras guide "Making new layers and models via subclassing" (keras-io
guides/making_new_layers_and_models_via_subclassing.py, the Keras 3 text, whose Sampling and
CustomDropout layers draw from a ``keras.random.SeedGenerator``), run with
``import chainrule as keras``.

Each test is one section of the guide with its code as written and what it prints asserted.

Skipped: "Backend-agnostic layers and backend-specific layers" (its layers call jax.numpy,
tf.matmul and torch.matmul on purpose), "Privileged mask argument in the call() method" (masking),
and the ResNet example of "The Model class" (a code sketch in the guide's prose that needs
GlobalAveragePooling2D and a dataset it leaves as ``...``).
"""

import numpy as np
import pytest

import chainrule as keras
from chainrule import layers, ops


def numpy(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


# --- The Layer class: the combination of state (weights) and some computation --------------------


def test_a_layer_holds_weights_and_a_computation():
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(
                shape=(input_dim, units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    x = ops.ones((2, 2))
    linear_layer = Linear(4, 2)
    y = linear_layer(x)

    assert tuple(y.shape) == (2, 4)
    np.testing.assert_allclose(numpy(y), np.ones((2, 2)) @ numpy(linear_layer.w), rtol=1e-6)
    assert linear_layer.weights == [linear_layer.w, linear_layer.b]
    # random_normal: stddev 0.05, so the guide's printed values are a few hundredths
    assert 0 < np.abs(numpy(linear_layer.w)).max() < 0.25


# --- Layers can have non-trainable weights --------------------------------------------------------


def test_a_non_trainable_weight():
    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(
                initializer="zeros", shape=(input_dim,), trainable=False
            )

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    x = ops.ones((2, 2))
    my_sum = ComputeSum(2)
    y = my_sum(x)
    np.testing.assert_array_equal(y.numpy(), [2.0, 2.0])
    y = my_sum(x)
    np.testing.assert_array_equal(y.numpy(), [4.0, 4.0])

    assert len(my_sum.weights) == 1
    assert len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


# --- Deferring weight creation until the shape of the inputs is known -----------------------------


class Linear(keras.layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(
            shape=(self.units,), initializer="random_normal", trainable=True
        )

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


def test_weights_are_made_in_build_on_the_first_call():
    # At instantiation, we don't know on what inputs this is going to get called
    linear_layer = Linear(32)
    assert linear_layer.weights == []

    # The layer's weights are created dynamically the first time the layer is called
    y = linear_layer(ops.ones((2, 2)))

    assert tuple(y.shape) == (2, 32)
    assert [tuple(w.shape) for w in linear_layer.weights] == [(2, 32), (32,)]


# --- Layers are recursively composable ------------------------------------------------------------


def test_layers_are_recursively_composable():
    class MLPBlock(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = keras.activations.relu(x)
            x = self.linear_2(x)
            x = keras.activations.relu(x)
            return self.linear_3(x)

    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))  # The first call to the `mlp` will create the weights

    assert tuple(y.shape) == (3, 1)
    assert len(mlp.weights) == 6
    assert len(mlp.trainable_weights) == 6
    assert [tuple(w.shape) for w in mlp.weights] == [(64, 32), (32,), (32, 32), (32,), (32, 1), (1,)]


# --- The add_loss() method ------------------------------------------------------------------------


# A layer that creates an activity regularization loss
class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


def test_losses_are_reset_at_each_top_level_call():
    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert len(layer.losses) == 0  # No losses yet since the layer has never been called

    _ = layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1  # We created one loss value

    # `layer.losses` gets reset at the start of each __call__
    _ = layer(ops.ones((1, 1)))
    assert len(layer.losses) == 1  # This is the loss created during the call above
    assert float(numpy(layer.losses[0])) == pytest.approx(1e-2)


def test_a_kernel_regularizer_adds_to_the_losses():
    class OuterLayerWithKernelRegularizer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(
                32, kernel_regularizer=keras.regularizers.l2(1e-3)
            )

        def call(self, inputs):
            return self.dense(inputs)

    layer = OuterLayerWithKernelRegularizer()
    _ = layer(ops.zeros((1, 1)))

    # This is `1e-3 * sum(layer.dense.kernel ** 2)`,
    # created by the `kernel_regularizer` above.
    assert len(layer.losses) == 1
    expected = 1e-3 * np.sum(numpy(layer.dense.kernel) ** 2)
    assert float(numpy(layer.losses[0])) == pytest.approx(expected, rel=1e-5)


@pytest.mark.filterwarnings("ignore:fit.*has no trainable weights")
def test_added_losses_join_the_compiled_loss_in_fit():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)

    # If there is a loss passed in `compile`, the regularization
    # losses get added to it
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.random((2, 3)), np.random.random((2, 3))
    history = model.fit(x, y, verbose=0)
    mse = np.mean((x - y) ** 2)
    assert history.history["loss"][0] == pytest.approx(mse + 1e-2 * x.mean(), rel=1e-5)

    # It's also possible not to pass any loss in `compile`,
    # since the model already has a loss to minimize, via the `add_loss`
    # call during the forward pass!
    model.compile(optimizer="adam")
    x, y = np.random.random((2, 3)), np.random.random((2, 3))
    history = model.fit(x, y, verbose=0)
    assert history.history["loss"][0] == pytest.approx(1e-2 * x.mean(), rel=1e-5)  # the guide: 0.0050


# --- You can optionally enable serialization on your layers ---------------------------------------


def test_get_config_and_from_config():
    class Linear(keras.layers.Layer):
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {"units": self.units}

    # Now you can recreate the layer from its config:
    layer = Linear(64)
    config = layer.get_config()
    assert config == {"units": 64}
    new_layer = Linear.from_config(config)
    assert new_layer.units == 64


def linear_with_base_config(keras, ops):
    class Linear(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    layer = Linear(64)
    config = layer.get_config()
    new_layer = Linear.from_config(config)
    return config, new_layer


def test_get_config_includes_the_base_layer_arguments():
    config, new_layer = linear_with_base_config(keras, ops)
    # the guide prints {'name': 'linear_7', 'trainable': True, 'dtype': 'float32', 'units': 64}
    assert config == {"name": "linear", "trainable": True, "dtype": "float32", "units": 64}
    assert (new_layer.name, new_layer.units, new_layer.trainable) == ("linear", 64, True)


def test_get_config_includes_the_base_layer_arguments_as_in_keras(reference_keras):
    ours, _ = linear_with_base_config(keras, ops)
    theirs, _ = linear_with_base_config(reference_keras, reference_keras.ops)
    assert set(ours) == set(theirs)
    assert {key: ours[key] for key in ("name", "trainable", "units")} == {
        key: theirs[key] for key in ("name", "trainable", "units")}


# --- Privileged training argument in the call() method --------------------------------------------


class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(
                inputs, rate=self.rate, seed=self.seed_generator
            )
        return inputs


def test_a_layer_that_behaves_differently_in_training():
    layer = CustomDropout(0.5)
    x = np.ones((4, 1000), "float32")

    np.testing.assert_array_equal(numpy(layer(x)), x)
    dropped = numpy(layer(x, training=True))
    assert set(np.unique(dropped)) == {0.0, 2.0}  # kept values scaled by 1 / (1 - rate)
    assert abs((dropped == 0).mean() - 0.5) < 0.03
    assert not np.array_equal(dropped, numpy(layer(x, training=True)))  # the generator moves on

    # fit passes training=True, predict training=False
    inputs = keras.Input(shape=(1000,))
    model = keras.Model(inputs, CustomDropout(0.5)(inputs))
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert (numpy(model(x, training=True)) == 0).any()


# --- Putting it all together: an end-to-end example -----------------------------------------------


class Sampling(layers.Layer):
    """Uses (z_mean, z_log_var) to sample z, the vector encoding a digit."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    """Maps MNIST digits to a triplet (z_mean, z_log_var, z)."""

    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    """Converts z, the encoded digit vector, back into a readable digit."""

    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    """Combines the encoder and decoder into an end-to-end model for training."""

    def __init__(
        self,
        original_dim,
        intermediate_dim=64,
        latent_dim=32,
        name="autoencoder",
        **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(
            z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1
        )
        self.add_loss(kl_loss)
        return reconstructed


def test_the_variational_autoencoder_is_built_of_nested_layers():
    vae = VariationalAutoEncoder(784, 64, 32)
    x = np.random.default_rng(0).random((5, 784)).astype("float32")
    reconstructed = vae(x)

    assert tuple(reconstructed.shape) == (5, 784)
    assert [layer.name for layer in vae.layers] == ["encoder", "decoder"]
    assert vae.layers[0].count_params() == 784 * 64 + 64 + 2 * (64 * 32 + 32)  # 54,400
    assert vae.layers[1].count_params() == 32 * 64 + 64 + 64 * 784 + 784  # 53,072
    assert len(vae.trainable_weights) == 10
    assert len(vae.losses) == 1  # the KL term of this call
    z_mean, z_log_var, _ = vae.encoder(x)
    z_mean, z_log_var = numpy(z_mean), numpy(z_log_var)
    expected = -0.5 * np.mean(z_log_var - z_mean ** 2 - np.exp(z_log_var) + 1)
    assert float(numpy(vae.losses[0])) == pytest.approx(expected, rel=1e-4)


@pytest.mark.slow  # 2 epochs on the first 20,000 digits (the guide: all 60,000), 10 to 25 s here
def test_the_variational_autoencoder_trains_on_mnist(shared_data):
    (x_train, _), _ = keras.datasets.mnist.load_data()
    x_train = x_train.reshape(60000, 784).astype("float32") / 255
    x_train = x_train[:20000]  # a third of the guide's data, to keep the test under a minute

    original_dim = 784  # noqa: F841 (the guide's line)
    vae = VariationalAutoEncoder(784, 64, 32)

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())

    history = vae.fit(x_train, x_train, epochs=2, batch_size=64, verbose=0)

    assert list(history.history) == ["loss"]
    # Keras 3 on JAX, same 20,000 digits, seeds 0, 1, 2: loss 0.0883 to 0.0885, then 0.0684.
    # (The guide's run on all 60,000: 0.0942, then 0.0677.)
    losses = history.history["loss"]
    assert losses[0] == pytest.approx(0.0884, abs=0.006)
    assert losses[1] == pytest.approx(0.0684, abs=0.003)
