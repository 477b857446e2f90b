"""Tutorial 1, as a script: the code and its explanation are in chainrule/tutorials/one_weight.py.

    python examples/tutorial_1_one_weight.py        (or: chainrule tutorial one-weight)
"""

from chainrule.tutorials import one_weight

if __name__ == "__main__":
    one_weight.run()
