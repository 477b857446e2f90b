"""What GradientMonitor costs: one MNIST-sized epoch (48,000 random samples, batches of 128, the
784-128-64-10 model, Adam) with and without it, alternated, median of 3, in one process.

    OPENBLAS_NUM_THREADS=1 python benchmarks/gradient_monitor.py
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.layers import Dense  # noqa: E402
from chainrule.models import Sequential  # noqa: E402


def model():
    m = Sequential([Dense(128, activation="relu", input_shape=(784,)), Dense(64, activation="relu"),
                    Dense(10, activation="softmax")])
    m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def main():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (48_000, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 48_000)]
    plain, watched = model(), model()
    times = {"without": [], "with": []}
    for _ in range(3):
        for name, m, extra in (("without", plain, []), ("with", watched, [cr.callbacks.GradientMonitor()])):
            start = time.perf_counter()
            m.fit(x, y, batch_size=128, verbose=0, callbacks=extra)
            times[name].append(time.perf_counter() - start)
    medians = {name: sorted(values)[1] for name, values in times.items()}
    print(f"s/epoch without GradientMonitor {medians['without']:.3f}, with {medians['with']:.3f}, "
          f"ratio {medians['with'] / medians['without']:.3f}")


if __name__ == "__main__":
    main()
