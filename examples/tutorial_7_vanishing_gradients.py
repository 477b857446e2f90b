"""Tutorial 7, as a script: the code and its explanation are in chainrule/tutorials/vanishing_gradients.py.

    python examples/tutorial_7_vanishing_gradients.py [PLOTS_DIR]        (or: chainrule tutorial vanishing-gradients --plots DIR)
"""

import sys

from chainrule.tutorials import vanishing_gradients

if __name__ == "__main__":
    vanishing_gradients.run(plots=sys.argv[1] if len(sys.argv) > 1 else "plots")
