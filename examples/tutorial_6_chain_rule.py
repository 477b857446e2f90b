"""Tutorial 6, as a script: the code and its explanation are in chainrule/tutorials/chain_rule.py.

    python examples/tutorial_6_chain_rule.py        (or: chainrule tutorial chain-rule)
"""

from chainrule.tutorials import chain_rule

if __name__ == "__main__":
    chain_rule.run()
