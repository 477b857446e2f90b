"""Primitives: the operations with a hand-written backward. Everything else is composed of them.

Each module holds one family; each primitive's docstring gives its function and derivative.
"""
