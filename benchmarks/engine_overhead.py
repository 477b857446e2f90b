"""Per-op cost of the autograd engine: chainrule against torch autograd.

A chain of 1,000 elementwise ops (a repeating multiply, add, tanh) on a tensor that requires grad,
forward and backward, timed on arrays of 10 and of 128x128 elements. Each library runs in its own
process of this one run (so neither's import or thread pool disturbs the other), and the ratio of
their per-op times is printed. Both run single-threaded, as chainrule's NumPy kernels do here.
"replayed" is chainrule's chain under ``chainrule.jit``: recorded twice, then replayed (the same
NumPy calls without Tensor objects, graph or checks; see ``chainrule.jit_compile``). The NumPy
floor times the same chain's forward and backward NumPy calls with no autograd at all: the least
any NumPy engine could spend.

    python benchmarks/engine_overhead.py [--ops 1000] [--repeats 30]
"""

import argparse
import json
import os
import subprocess
import sys
import time

SHAPES = {"10": (10,), "128x128": (128, 128)}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing


def _chain(shape, ops):
    """chainrule's chain, and the leaf it differentiates."""
    import numpy as np

    import chainrule as cr

    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    a = cr.tensor(rng.uniform(0.5, 1.5, shape).astype(np.float32))
    b = cr.tensor(rng.uniform(-0.1, 0.1, shape).astype(np.float32))

    def step():
        y = x
        for i in range(ops):
            k = i % 3
            y = y * a if k == 0 else (y + b if k == 1 else y.tanh())
        y.sum().backward()
        x.zero_grad()

    return step


def chain_chainrule(shape, ops, repeats):
    return _time(_chain(shape, ops), repeats)


def chain_replayed(shape, ops, repeats):
    """chainrule's chain as ``chainrule.jit`` replays it after recording it twice."""
    import chainrule as cr

    step = cr.jit(_chain(shape, ops))
    step()  # with _time's warm-up, the two calls that record
    seconds = _time(step, repeats)
    assert step.compiled.replays >= repeats, "the chain was not replayed"
    return seconds


def chain_torch(shape, ops, repeats):
    import torch

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, requires_grad=True)
    a = torch.rand(shape, generator=g) + 0.5
    b = (torch.rand(shape, generator=g) - 0.5) * 0.2

    def step():
        y = x
        for i in range(ops):
            k = i % 3
            y = y * a if k == 0 else (y + b if k == 1 else y.tanh())
        y.sum().backward()
        x.grad = None

    return _time(step, repeats)


def chain_numpy(shape, ops, repeats):
    """The floor: the same chain's forward and backward NumPy calls, with no autograd at all."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    a = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, shape).astype(np.float32)

    def step():
        y, outputs = x, []
        for i in range(ops):
            k = i % 3
            y = y * a if k == 0 else (y + b if k == 1 else np.tanh(y))
            outputs.append(y)
        grad = np.ones_like(y)
        for i in reversed(range(ops)):
            k = i % 3
            if k == 0:
                grad = grad * a
            elif k == 2:
                z = outputs[i]
                grad = grad * (1.0 - z * z)
        return grad

    return _time(step, repeats)


def _time(step, repeats):
    step()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]  # the median


def worker(library, shape_name, ops, repeats):
    shape = SHAPES[shape_name]
    chain = {"chainrule": chain_chainrule, "replayed": chain_replayed, "torch": chain_torch,
             "numpy": chain_numpy}[library]
    seconds = chain(shape, ops, repeats)
    print(json.dumps({"us_per_op": seconds / ops * 1e6}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--worker", nargs=2, metavar=("LIBRARY", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.ops, args.repeats)
        return

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    print(f"forward+backward per elementwise op, chain of {args.ops} ops, median of {args.repeats} runs")
    print(f"{'elements':>10} {'chainrule us/op':>16} {'replayed us/op':>15} {'torch us/op':>12} "
          f"{'numpy floor us/op':>18} {'chainrule/torch':>16} {'replayed/torch':>15}")
    for shape_name in SHAPES:
        results = {}
        for library in ("chainrule", "replayed", "torch", "numpy"):
            command = [sys.executable, __file__, "--ops", str(args.ops), "--repeats", str(args.repeats), "--worker", library, shape_name]
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                print(f"{library} on {shape_name} failed:\n{done.stderr}", file=sys.stderr)
                results[library] = float("nan")
                continue
            results[library] = json.loads(done.stdout.strip().splitlines()[-1])["us_per_op"]
        print(
            f"{shape_name:>10} {results['chainrule']:>16.2f} {results['replayed']:>15.2f} {results['torch']:>12.2f} "
            f"{results['numpy']:>18.2f} {results['chainrule'] / results['torch']:>16.2f} "
            f"{results['replayed'] / results['torch']:>15.2f}"
        )


if __name__ == "__main__":
    main()
