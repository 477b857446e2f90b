"""Tutorial 4, as a script: the code and its explanation are in chainrule/tutorials/perceptron.py.

    python examples/tutorial_4_perceptron.py        (or: chainrule tutorial perceptron)
"""

from chainrule.tutorials import perceptron

if __name__ == "__main__":
    perceptron.run()
