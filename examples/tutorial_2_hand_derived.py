"""Tutorial 2, as a script: the code and its explanation are in chainrule/tutorials/hand_derived.py.

    python examples/tutorial_2_hand_derived.py        (or: chainrule tutorial hand-derived)
"""

from chainrule.tutorials import hand_derived

if __name__ == "__main__":
    hand_derived.run()
