"""The convolution and pooling primitives at mnist_convnet's shapes, forward and backward, timed.

Batch 128, one thread: Conv 3x3 1 -> 32 on 28x28 (the kernel's gradient only, as for a model's
first layer), Conv 3x3 32 -> 64 on 13x13 (the input's gradient too), a 2x2 max pool of the first
convolution's (128, 26, 26, 32) output, and the two blocks together with their ReLUs. Each figure
is the median of ``--repeats`` runs in milliseconds, each case in a process of its own (what ran
before changes how the allocator hands out large arrays, and with it the timings: the two blocks
measured 95 to 103 ms after the other cases and 66 to 146 ms alone). It imports chainrule from the
folder given by ``--repo`` (this checkout by default), so two versions can be compared:

    python benchmarks/conv_primitives.py [--repo PATH] [--repeats 20]
"""

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is None:
        print(f"chainrule from {os.path.abspath(args.repo)}; median of {args.repeats}, ms, a process per case")
        for case in range(5):
            subprocess.run([sys.executable, __file__, "--repo", args.repo, "--repeats", str(args.repeats),
                            "--case", str(case)], check=True)
        return
    sys.path.insert(0, args.repo)

    import numpy as np

    import chainrule as cr
    from chainrule.tensor import conv, max_pool

    rng = np.random.default_rng(0)
    image = cr.tensor(rng.random((128, 28, 28, 1), dtype=np.float32))
    w1 = cr.tensor(rng.normal(0, 0.1, (3, 3, 1, 32)).astype(np.float32), requires_grad=True)
    h1 = cr.tensor(rng.random((128, 13, 13, 32), dtype=np.float32), requires_grad=True)
    w2 = cr.tensor(rng.normal(0, 0.1, (3, 3, 32, 64)).astype(np.float32), requires_grad=True)
    a1 = cr.tensor(np.maximum(rng.normal(size=(128, 26, 26, 32)), 0).astype(np.float32), requires_grad=True)

    columns = rng.random((15488, 288), dtype=np.float32)
    kernel = rng.random((288, 64), dtype=np.float32)

    def backward(y):
        y.backward(np.ones(y.shape, dtype=np.float32))

    def blocks():
        h = max_pool(cr.relu(conv(image, w1)), 2)
        backward(max_pool(cr.relu(conv(h, w2)), 2))

    cases = {
        "conv 1->32 on 28x28, forward + kernel gradient": lambda: backward(conv(image, w1)),
        "conv 32->64 on 13x13, forward + both gradients": lambda: backward(conv(h1, w2)),
        "max pool 2x2 of (128, 26, 26, 32), forward + backward": lambda: backward(max_pool(a1, 2)),
        "both conv/relu/pool blocks, forward + backward": blocks,
        "the second conv's forward product alone, (15488 x 288) @ (288 x 64)": lambda: columns @ kernel,
    }
    where = os.path.dirname(os.path.dirname(os.path.abspath(cr.__file__)))
    assert os.path.samefile(where, args.repo), f"imported chainrule from {where}, not {args.repo}"
    name, fn = list(cases.items())[args.case]
    ms = _median_ms(fn, args.repeats)
    rate = f" ({15488 * 288 * 64 * 2 / ms / 1e6:.0f} GFLOPS)" if "alone" in name else ""
    print(f"{ms:8.1f}  {name}{rate}", flush=True)


if __name__ == "__main__":
    main()
