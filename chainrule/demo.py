"""``chainrule demo``: a tour of backpropagation on generated data, in well under a minute.

Tutorials 1 (one weight), 2 (gradients by hand against autodiff), 5 (a backward pass step by
step, then XOR), 6 (the chain rule and gradient descent), 7 (vanishing gradients) and part 1 of 9
(a convolution's and a max pool's backward pass by hand), printed as they run, their plots written
to a folder the tour names at the end.
"""

import importlib
import importlib.util
import os

from chainrule import tutorials

# a tutorial's name, or (name, function, what it shows) to run one part of it: the convnet's part
# 2 trains on the real MNIST data for minutes, so the tour takes its part 1 only
TOUR = ("one-weight", "hand-derived", "step-by-step", "chain-rule", "vanishing-gradients",
        ("convnet", "by_hand", "9. a convolution's and a max pool's backward pass by hand (part 1 of convnet)"))


def _stop(entry):
    """``(what it shows, the function to run)`` for one entry of TOUR."""
    if isinstance(entry, str):
        return tutorials.TUTORIALS[entry][2], tutorials.get(entry)
    name, function, about = entry
    module = importlib.import_module(f"chainrule.tutorials.{tutorials.TUTORIALS[name][0]}")
    return about, getattr(module, function)


def main(plots="chainrule-demo-plots", print=print):
    """Runs the tour; returns 0 (the command's exit status)."""
    can_plot = importlib.util.find_spec("matplotlib") is not None
    for entry in TOUR:
        about, run = _stop(entry)
        print(f"\n=== {about} ===")
        if tutorials.takes_plots(run):
            run(plots=plots if can_plot else None, print=print)
        else:
            run(print=print)
    if can_plot:
        print(f"\nplots are in {os.path.abspath(plots)}")
    else:
        print('\nno plots: install the plot extra (pip install "chainrule[plot]") to draw them')
    print("more: chainrule tutorial --list")
    return 0
