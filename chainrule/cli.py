"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule demo [--plots DIR]                 a tour of the tutorials on generated data
    chainrule tutorial --list | NAME [--plots DIR]
    chainrule train mnist|imdb [--epochs N] [--batch-size N] [--seed N] [--plot PNG]

A bad flag, an unknown name or a missing data file ends with status 2 and a one-line reason.
"""

import argparse
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """A bad flag: one line that says what is wrong, and status 2."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _Parser(prog="chainrule", description="Neural networks trained by backpropagation, on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="a tour of backpropagation on generated data (the default)")
    demo.add_argument("--plots", default="chainrule-demo-plots", metavar="DIR",
                      help="where to write the plots (default: %(default)s)")
    tutorial = commands.add_parser("tutorial", help="run one of the tutorials (--list shows them)")
    tutorial.add_argument("name", nargs="?", help="the tutorial to run")
    tutorial.add_argument("--list", action="store_true", help="list the tutorials and exit")
    tutorial.add_argument("--plots", default=None, metavar="DIR", help="write the tutorial's plots here")
    train = commands.add_parser("train", help="train the MNIST or IMDB model of the Keras tutorials")
    train.add_argument("model", choices=("mnist", "imdb"))
    train.add_argument("--epochs", type=_positive, default=None, help="10 for mnist, 5 for imdb")
    train.add_argument("--batch-size", type=_positive, default=None, help="128 for mnist, 32 for imdb")
    train.add_argument("--seed", type=int, default=None, help="make the run repeatable")
    train.add_argument("--plot", default=None, metavar="PNG", help="write the accuracy curves here")
    return parser


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        from chainrule import __version__

        print(__version__)
        return 0
    try:
        if args.command == "tutorial":
            return _tutorial(parser, args)
        if args.command == "train":
            return _train(args)
        from chainrule import demo

        return demo.main(plots=getattr(args, "plots", "chainrule-demo-plots"))
    except (OSError, ValueError, ImportError) as error:  # missing data, no matplotlib, bad values
        parser.exit(2, f"chainrule {args.command or 'demo'}: {error}\n")


def _tutorial(parser, args):
    from chainrule import tutorials

    if args.list or args.name is None:
        for name, (_, _, about) in tutorials.TUTORIALS.items():
            print(f"{name:<20} {about}")
        return 0
    run = tutorials.get(args.name)
    if args.plots and tutorials.takes_plots(run):
        run(plots=args.plots)
    else:
        run()
    return 0


def _train(args):
    from chainrule.tutorials import keras_programs

    defaults = {"mnist": (10, 128), "imdb": (5, 32)}[args.model]
    program = getattr(keras_programs, args.model)
    program(epochs=args.epochs or defaults[0], batch_size=args.batch_size or defaults[1], seed=args.seed,
            plot=args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
