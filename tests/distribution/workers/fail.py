"""A process of a data-parallel ``fit`` fails at its fourth step, for
tests/distribution/test_data_parallel.py: the job must end with an error, not hang.

``python3 fail.py OUT MODE``: on rank 1, ``raise`` raises from a callback (the excepthook
chainrule installs calls ``MPI_Abort``), ``exit`` calls ``os._exit(3)`` (no Python clean-up at
all), ``kill`` sends itself SIGKILL, and ``sys.exit`` calls ``sys.exit(0)`` (a SystemExit, which
no excepthook sees; Python's exit then waits in ``MPI_Finalize`` for the others). The other
process is then waiting in the step's Allreduce. Rank 0 writes ``OUT/finished`` if its fit ever
returns.
"""

import os
import signal
import sys

import numpy as np

import chainrule as keras

keras.distribution.initialize()
keras.distribution.set_distribution(keras.distribution.DataParallel())
OUT, MODE = sys.argv[1], sys.argv[2]
RANK = keras.distribution.process_id()


class Fail(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if RANK != 1 or batch != 3:
            return
        if MODE == "raise":
            raise RuntimeError("a callback failed on rank 1")
        if MODE == "exit":
            os._exit(3)
        if MODE == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if MODE == "sys.exit":
            sys.exit(0)


x = np.random.default_rng(0).normal(size=(640, 4))
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile("adam", "mse")
model.fit(x, x.sum(axis=1), batch_size=64, epochs=50, verbose=0, callbacks=[Fail()])
if RANK == 0:
    open(os.path.join(OUT, "finished"), "w").close()
