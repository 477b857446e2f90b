"""The ``chainrule`` command (also ``python -m chainrule``)."""

import argparse
import sys


def _parser():
    parser = argparse.ArgumentParser(prog="chainrule",
                                     description="Neural networks trained by backpropagation, on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="train a tiny network on XOR with the Tensor API (the default)")
    tutorial = commands.add_parser("tutorial", help="run one of the tutorials (--list shows them)")
    tutorial.add_argument("name", nargs="?", help="the tutorial to run")
    tutorial.add_argument("--list", action="store_true", help="list the tutorials and exit")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)

    if args.version:
        from chainrule import __version__

        print(__version__)
        return 0
    if args.command == "tutorial":
        from chainrule import tutorials

        if args.list or args.name is None:
            for name, (_, about) in tutorials.TUTORIALS.items():
                print(f"{name:<14} {about}")
            return 0
        try:
            module = tutorials.get(args.name)
        except ValueError as error:
            parser.exit(2, f"chainrule tutorial: {error}\n")
        module.run()
        return 0
    from chainrule import demo

    return demo.main()


if __name__ == "__main__":
    sys.exit(main())
