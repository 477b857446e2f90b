"""``from chainrule import keras``: Keras's namespace, for programs written for ``tf.keras``
(``from tensorflow import keras`` becomes ``from chainrule import keras``).

It holds the same objects as chainrule's top level: ``keras.layers.Dense`` is
``chainrule.layers.Dense``.
"""

from chainrule import (  # noqa: F401
    Input,
    InputSpec,
    KerasTensor,
    Layer,
    Loss,
    Metric,
    Model,
    Optimizer,
    Sequential,
    Variable,
    activations,
    backend,
    callbacks,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    preprocessing,
    random,
    saving,
    utils,
    version,
)
