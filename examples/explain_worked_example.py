"""The classic worked example of backpropagation, printed by chainrule.explain: the code is in
chainrule/tutorials/worked_example.py.

    python examples/explain_worked_example.py        (or: chainrule tutorial worked-example)
"""

from chainrule.tutorials import worked_example

if __name__ == "__main__":
    worked_example.run()
