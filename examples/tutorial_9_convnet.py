"""Tutorial 9, as a script: the code and its explanation are in chainrule/tutorials/convnet.py.

    CHAINRULE_DATA_DIR=../shared/data python examples/tutorial_9_convnet.py [PLOTS_DIR]
    (or: chainrule tutorial convnet --plots DIR)
"""

import sys

from chainrule.tutorials import convnet

if __name__ == "__main__":
    convnet.run(plots=sys.argv[1] if len(sys.argv) > 1 else "plots")
