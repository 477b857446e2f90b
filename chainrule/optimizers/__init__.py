"""Optimizers with Keras's names, defaults and update rules, and learning-rate schedules."""

from chainrule.optimizers import schedules
from chainrule.optimizers.adadelta import Adadelta
from chainrule.optimizers.adagrad import Adagrad
from chainrule.optimizers.adam import Adam
from chainrule.optimizers.adamax import Adamax
from chainrule.optimizers.adamw import AdamW
from chainrule.optimizers.ftrl import Ftrl
from chainrule.optimizers.lion import Lion
from chainrule.optimizers.nadam import Nadam
from chainrule.optimizers.optimizer import Optimizer
from chainrule.optimizers.rmsprop import RMSprop
from chainrule.optimizers.sgd import SGD

ALL = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
       "nadam": Nadam, "adamax": Adamax, "adadelta": Adadelta, "lion": Lion, "ftrl": Ftrl}

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam",
           "Optimizer", "RMSprop", "get", "schedules"]


def get(identifier, where="optimizer"):
    """Resolves an optimizer name (``"adam"``, with its defaults) or an Optimizer.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key not in ALL:
            raise ValueError(f"{where}: unknown optimizer {identifier!r}; expected one of "
                             f"{sorted(ALL)}")
        return ALL[key]()
    raise ValueError(f"{where}: expected an optimizer name or an Optimizer, received {identifier!r}")
