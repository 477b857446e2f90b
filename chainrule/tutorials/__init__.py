"""The tutorials chainrule grew from, reproduced with their numbers.

Run one with ``chainrule tutorial NAME`` or ``python examples/<its file>.py``; each module's
``run(print=print, ...)`` prints the tutorial as it goes and returns its numbers.
"""

import importlib

# name -> (module, one line about it), in the order the tutorials are read
TUTORIALS = {
    "one-weight": ("one_weight", "1. one weight learns y = 2x by gradient descent on the squared error"),
    "hand-derived": ("hand_derived", "2. a 1-2-1 network's gradients by the chain rule, checked by autodiff"),
    "classic-xor": ("classic_xor", "3. the classic NeuralNetwork([2, 2, 1], alpha=0.5) class on XOR, over 20 seeds"),
    "worked-example": ("worked_example", "the 2-2-2 network of the classic worked example, traced by explain"),
    "perceptron": ("perceptron", "4. a step-activation perceptron learns AND, OR, NOT and cannot learn XOR"),
    "chain-rule": ("chain_rule", "6. the chain rule on (x^2 + 1)^3 and gradient descent on x^2 + 5"),
}


def names():
    return list(TUTORIALS)


def get(name):
    """The module of tutorial ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in TUTORIALS:
        raise ValueError(f"unknown tutorial {name!r}; expected one of {', '.join(TUTORIALS)}")
    return importlib.import_module(f"chainrule.tutorials.{TUTORIALS[name][0]}")
