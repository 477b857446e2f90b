"""``chainrule demo``: a tour of backpropagation on generated data, in well under a minute.

Tutorials 1 (one weight), 2 (gradients by hand against autodiff), 5 (a backward pass step by
step, then XOR), 6 (the chain rule and gradient descent) and 7 (vanishing gradients), printed as
they run, their plots written to a folder the tour names at the end.
"""

import importlib.util
import os

from chainrule import tutorials

TOUR = ("one-weight", "hand-derived", "step-by-step", "chain-rule", "vanishing-gradients")


def main(plots="chainrule-demo-plots", print=print):
    """Runs the tour; returns 0 (the command's exit status)."""
    can_plot = importlib.util.find_spec("matplotlib") is not None
    for name in TOUR:
        about = tutorials.TUTORIALS[name][2]
        print(f"\n=== {about} ===")
        run = tutorials.get(name)
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
