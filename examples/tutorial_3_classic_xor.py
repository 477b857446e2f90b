"""Tutorial 3, as a script: the code and its explanation are in chainrule/tutorials/classic_xor.py
and chainrule/classic.py (about 30 seconds).

    python examples/tutorial_3_classic_xor.py        (or: chainrule tutorial classic-xor)
"""

from chainrule.tutorials import classic_xor

if __name__ == "__main__":
    classic_xor.run()
