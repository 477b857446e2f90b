"""The tutorials chainrule grew from, reproduced with their numbers.

Run one with ``chainrule tutorial NAME`` or ``python examples/<its file>.py``; each one's function
(``run`` unless named otherwise) prints the tutorial as it goes and returns its numbers.
"""

import importlib
import inspect

# name -> (module, function, one line about it), in the order the tutorials are read
TUTORIALS = {
    "one-weight": ("one_weight", "run", "1. one weight learns y = 2x by gradient descent on the squared error"),
    "hand-derived": ("hand_derived", "run", "2. a 1-2-1 network's gradients by the chain rule, checked by autodiff"),
    "classic-xor": ("classic_xor", "run", "3. the classic NeuralNetwork([2, 2, 1], alpha=0.5) class on XOR, 20 seeds"),
    "perceptron": ("perceptron", "run", "4. a step-activation perceptron learns AND, OR, NOT and cannot learn XOR"),
    "step-by-step": ("step_by_step", "run", "5. a 2-3-1 sigmoid network's backward pass by hand, then XOR, plotted"),
    "chain-rule": ("chain_rule", "run", "6. the chain rule on (x^2 + 1)^3 and gradient descent on x^2 + 5"),
    "vanishing-gradients": ("vanishing_gradients", "run", "7. gradient norms through 10 sigmoid or ReLU layers"),
    "worked-example": ("worked_example", "run", "the classic 2-2-2 worked example, traced by explain"),
    "mnist": ("keras_programs", "mnist", "8. the MNIST Keras program (real data; chainrule train mnist)"),
    "imdb": ("keras_programs", "imdb", "8. the IMDB Keras program (real data; chainrule train imdb)"),
    "convnet": ("convnet", "run", ("9. a convolution's backward pass by hand, then keras-io's MNIST convnet, "
                                   "its filters plotted")),
}


def names():
    return list(TUTORIALS)


def get(name):
    """The function that runs tutorial ``name``.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if name not in TUTORIALS:
        raise ValueError(f"unknown tutorial {name!r}; expected one of {', '.join(TUTORIALS)}")
    module, function, _ = TUTORIALS[name]
    return getattr(importlib.import_module(f"chainrule.tutorials.{module}"), function)


def takes_plots(function):
    """Whether a tutorial's function can write plots (it has a ``plots`` folder argument)."""
    return "plots" in inspect.signature(function).parameters
