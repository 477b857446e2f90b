"""The ``chainrule`` command (also ``python -m chainrule``).

    chainrule demo [--plots DIR]                 a tour of the tutorials on generated data
    chainrule tutorial --list | NAME [--plots DIR]
    chainrule train mnist|mnist_convnet|lenet5|fashion_mnist_convnet|imdb|transformer_imdb
                    [--epochs N] [--batch-size N] [--seed N] [--plot PNG] [--workers N]

``--workers N`` trains on N processes, data parallel (chainrule.distribution): the command
starts ``mpirun -np N`` on itself (mpi4py and an MPI, ``pip install "chainrule[mpi]"``); the
batch size is the global batch, and only the first process prints and writes the plot.

A bad flag, an unknown name, a missing data file or a place where plots cannot be written ends
with status 2 and a one-line reason, before any work starts. Ctrl-C ends with status 130 and one
line; plots are written whole or not at all. A closed output pipe (``| head``) ends it quietly.
"""

import argparse
import importlib.util
import os
import sys

from chainrule.training import progbar

DEMO_PLOTS = "chainrule-demo-plots"
# chainrule train NAME: the program (a function of chainrule.tutorials.keras_programs) -> (epochs, batch size)
TRAIN_DEFAULTS = {"mnist": (10, 128), "mnist_convnet": (15, 128), "lenet5": (10, 128),
                  "fashion_mnist_convnet": (10, 128), "imdb": (5, 32), "transformer_imdb": (2, 32)}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """A bad flag: one line that says what is wrong, and status 2."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _parser():
    parser = _Parser(prog="chainrule", description="Neural networks trained by backpropagation, on NumPy.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser("demo", help="a tour of backpropagation on generated data (the default)")
    demo.add_argument("--plots", default=DEMO_PLOTS, metavar="DIR",
                      help="where to write the plots (default: %(default)s)")
    tutorial = commands.add_parser("tutorial", help="run one of the tutorials (--list shows them)")
    tutorial.add_argument("name", nargs="?", help="the tutorial to run")
    tutorial.add_argument("--list", action="store_true", help="list the tutorials and exit")
    tutorial.add_argument("--plots", default=None, metavar="DIR", help="write the tutorial's plots here")
    train = commands.add_parser("train", help="train one of the Keras tutorials' programs on its real data")
    train.add_argument("model", choices=tuple(TRAIN_DEFAULTS))
    train.add_argument("--epochs", type=_positive, default=None,
                       help=", ".join(f"{epochs} for {name}" for name, (epochs, _) in TRAIN_DEFAULTS.items()))
    train.add_argument("--batch-size", type=_positive, default=None, help="32 for imdb and transformer_imdb, else 128")
    train.add_argument("--seed", type=int, default=None, help="make the run repeatable")
    train.add_argument("--plot", default=None, metavar="PNG", help="write the accuracy curves here")
    train.add_argument("--workers", type=_positive, default=None, metavar="N",
                       help="train on N processes, data parallel, started with mpirun (needs "
                            "pip install \"chainrule[mpi]\")")
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
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.version:
        from chainrule import __version__

        print(__version__)
        return 0
    command = args.command or "demo"
    try:
        if command == "tutorial":
            status = _tutorial(parser, args)
        elif command == "train":
            status = _train(args, argv)
        else:
            status = _demo(getattr(args, "plots", DEMO_PLOTS))
        sys.stdout.flush()  # here, so that a closed pipe is met inside the try
        return status
    except KeyboardInterrupt:
        progbar.end_line()
        parser.exit(130, f"chainrule {command}: interrupted\n")
    except BrokenPipeError:  # the reader went away (| head): no one is left to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # for the flush at exit
        return 141  # 128 + SIGPIPE, as a shell reports a command a closed pipe ended
    except (OSError, ValueError, ImportError) as error:  # missing data, no matplotlib, bad values
        parser.exit(2, f"chainrule {command}: {error}\n")


def _demo(plots):
    from chainrule import demo, plotting

    if importlib.util.find_spec("matplotlib") is not None:  # without it, the tour draws nothing
        plotting.check_folder(plots)
    return demo.main(plots=plots)


def _tutorial(parser, args):
    from chainrule import tutorials

    if args.list or args.name is None:
        for name, (_, _, about) in tutorials.TUTORIALS.items():
            print(f"{name:<20} {about}")
        return 0
    run = tutorials.get(args.name)
    if args.plots and tutorials.takes_plots(run):
        from chainrule import plotting

        run(plots=plotting.check_folder(args.plots))
    else:
        run()
    return 0


def _train(args, argv):
    from chainrule.distribution.communicator import launched_by_mpi
    from chainrule.tutorials import keras_programs

    if args.plot:
        from chainrule import plotting

        plotting.check_path(args.plot)  # before the data are loaded, not after the training
    if (args.workers or 1) > 1 and not launched_by_mpi():
        return _launch(args.workers, argv)
    options = {}
    if launched_by_mpi():
        from chainrule import distribution

        distribution.initialize(num_processes=args.workers)
        if distribution.num_processes() > 1:
            distribution.set_distribution(distribution.DataParallel())
            if distribution.process_id() != 0:  # rank 0 speaks and writes the plot
                options = {"print": lambda *a, **k: None, "plot": None}
    defaults = TRAIN_DEFAULTS[args.model]
    program = getattr(keras_programs, args.model)
    program(**{"epochs": args.epochs or defaults[0], "batch_size": args.batch_size or defaults[1],
               "seed": args.seed, "plot": args.plot, **options})
    return 0


def _launch(workers, argv):
    """Runs this same command on ``workers`` processes under ``mpirun``; returns its status."""
    import subprocess

    from chainrule.distribution.communicator import find_mpirun

    if importlib.util.find_spec("mpi4py") is None:
        raise ImportError("--workers needs mpi4py and an MPI: pip install \"chainrule[mpi]\"")
    mpirun = find_mpirun()
    if mpirun is None:
        raise ImportError("--workers needs an mpirun on the PATH: pip install \"chainrule[mpi]\" "
                          "(or your system's Open MPI or MPICH)")
    command = [mpirun, "-np", str(workers)]
    if workers > (os.cpu_count() or 1):  # Open MPI refuses more processes than cores without it
        command.append("--oversubscribe")
        print(f"chainrule train: {workers} processes on {os.cpu_count()} cores share them; "
              f"expect it to be slower than {os.cpu_count()} processes", file=sys.stderr)
    env = dict(os.environ)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # Open MPI will not start as root without
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    command += [sys.executable, "-m", "chainrule", *argv]
    return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
