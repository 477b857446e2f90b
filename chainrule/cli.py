"""The ``chainrule`` command (also ``python -m chainrule``)."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="chainrule", description="Neural networks trained by backpropagation, on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a tiny network on XOR with the Tensor API (the default)")
    args = parser.parse_args(argv)

    if args.version:
        from chainrule import __version__

        print(__version__)
        return 0
    from chainrule import demo

    return demo.main()


if __name__ == "__main__":
    sys.exit(main())
