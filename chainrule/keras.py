"""``from chainrule import keras``: Keras's namespace, for programs written for ``tf.keras``
(``from tensorflow import keras`` becomes ``from chainrule import keras``).

It holds the same objects as chainrule's top level (``keras.layers.Dense`` is
``chainrule.layers.Dense``): the names listed in ``chainrule.KERAS_NAMES``.
"""

import chainrule as _chainrule

globals().update({name: getattr(_chainrule, name) for name in _chainrule.KERAS_NAMES})
__all__ = list(_chainrule.KERAS_NAMES)
