"""Tutorial 5, as a script: the code and its explanation are in chainrule/tutorials/step_by_step.py.

    python examples/tutorial_5_step_by_step.py [PLOTS_DIR]        (or: chainrule tutorial step-by-step --plots DIR)
"""

import sys

from chainrule.tutorials import step_by_step

if __name__ == "__main__":
    step_by_step.run(plots=sys.argv[1] if len(sys.argv) > 1 else "plots")
