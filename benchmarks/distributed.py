"""Data-parallel training on MPI, timed: throughput on 1, 2 (and 4) processes, the time spent
communicating, and a model of the step time on N processes fitted to this machine.

The models: the MNIST MLP (Dense 128 relu, Dense 64 relu, Dense 10 softmax) and keras-io's
mnist_convnet (Conv2D 32, MaxPooling2D, Conv2D 64, MaxPooling2D, Flatten, Dropout 0.5, Dense 10),
both with Adam and categorical cross-entropy, on random data of MNIST's shapes. Each
``(model, processes)`` run is ``mpirun -np N --oversubscribe python3 benchmarks/distributed.py
--worker fit ...``: ``keras.distribution.initialize()``, ``set_distribution(DataParallel())``, a
warm-up of a few batches, then ``fit`` over ``--samples`` samples at a fixed GLOBAL batch
(``--batch``, 128), each process on its shard of every batch. Rank 0 reports samples/s, seconds
per step and the communicator's seconds and bytes (counted from after the warm-up), split into
the gradients' Allreduce (timed inside ``DataParallel.reduce_gradients``), the metric gathers
(``allgather_object``, one per step) and the rest (``fit``'s broadcast of the model at its start,
its barrier at its end). Every process runs one BLAS thread (``OMP_NUM_THREADS=1``); this
machine has 2 cores, so 4 processes share them (oversubscribed: compute-bound).

Two more kinds of run feed the model T(N) = T_compute(B/N) + T_allreduce(N):

* ``--worker compute`` (no MPI): seconds per step of plain ``fit`` at the local batches B/N, and
  how much of the step is ``loss.backward()`` (what an Allreduce overlapped with the backward
  pass, as PyTorch DDP's gradient buckets do, could hide behind); run alone, and as N copies at
  once at batch B/N (the cores shared as in an N-process job, without communicating);
* ``--worker allreduce`` (N processes): the bare ``Allreduce`` (float32, in place, mpi4py) of
  1 KB .. 16 MB and of each model's gradient buffer, timed over many repetitions; the times fit
  the ring allreduce's cost 2(N-1) alpha + 2(N-1)/N * bytes / beta (latency alpha, bandwidth
  beta; Thakur, Rabenseifner and Gropp 2005) by least squares on relative error.

Rounds interleave the process counts (their order turns each round); each figure is the median
over rounds. The tables: throughput and communication; the fitted alpha and beta; the model's
prediction against the measured step; and a projection to 8 and 32 processes, one per machine,
over the networks in ``NETWORKS`` (assumed parameters, not measured here), with the step's metric
gather as a latency term. ``--save`` keeps the runs' results; ``--report`` prints them again.

    python benchmarks/distributed.py [--rounds 3] [--processes 1 2 4] [--batch 128]
        [--models mlp convnet] [--mlp-samples 51200] [--convnet-samples 6400] [--save PATH]
    python benchmarks/distributed.py --report PATH     # the tables of a saved run
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

WARM_UP_BATCHES = 5
SAMPLES = {"mlp": 51_200, "convnet": 6_400}
# the Allreduce sizes (bytes) the latency and bandwidth are fitted on: 1 KB .. 16 MB
SIZES = [1024 * 4 ** k for k in range(8)]
# assumed networks for the projection, one process per machine: (name, latency s, bandwidth B/s)
NETWORKS = [("10 Gb/s Ethernet", 25e-6, 10e9 / 8), ("100 Gb/s InfiniBand", 2e-6, 100e9 / 8)]
PROJECTED = (8, 32)


# --- the models and their data ---------------------------------------------------------------


def _model(keras, name):
    layers = keras.layers
    if name == "mlp":
        return keras.Sequential([layers.Dense(128, activation="relu", input_shape=(784,)),
                                 layers.Dense(64, activation="relu"),
                                 layers.Dense(10, activation="softmax")])
    from mnist_convnet import _keras_model  # benchmarks/mnist_convnet.py: the same model

    return _keras_model(keras)


def _compiled(keras, name):
    model = _model(keras, name)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(name, samples):
    """Random data of MNIST's shapes, the same on every process (each takes its shard)."""
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (784,) if name == "mlp" else (28, 28, 1)
    x = rng.random((samples,) + shape, dtype=np.float32)
    return x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]


def gradient_bytes(model):
    """The bytes of the one float32 buffer ``reduce_gradients`` sums per step: every trainable
    weight plus one presence count per variable."""
    variables = model.trainable_weights
    return 4 * (sum(int(math.prod(v.shape)) for v in variables) + len(variables))


# --- the workers -----------------------------------------------------------------------------


def worker_fit(name, samples, batch):
    """Data-parallel ``fit`` on this MPI job; rank 0 prints one JSON line."""
    import chainrule as keras
    from chainrule.distribution import DataParallel

    keras.distribution.initialize()
    keras.distribution.set_distribution(DataParallel())
    comm = keras.distribution.communicator()
    keras.utils.set_random_seed(0)
    x, y = _data(name, samples)
    model = _compiled(keras, name)

    counted = {"grad_s": 0.0, "grad_wall_s": 0.0, "grad_bytes": 0, "grad_calls": 0, "gather_s": 0.0}
    reduce_gradients = DataParallel.reduce_gradients

    def timed_reduce(self, grads, variables):  # the gradients' Allreduce, and its packing
        seconds, nbytes, start = comm.seconds, comm.bytes, time.perf_counter()
        result = reduce_gradients(self, grads, variables)
        counted["grad_wall_s"] += time.perf_counter() - start
        counted["grad_s"] += comm.seconds - seconds
        counted["grad_bytes"] += comm.bytes - nbytes
        counted["grad_calls"] += 1
        return result

    allgather_object = comm.allgather_object

    def timed_gather(value):  # the metric states' gather, one per step
        seconds = comm.seconds
        result = allgather_object(value)
        counted["gather_s"] += comm.seconds - seconds
        return result

    DataParallel.reduce_gradients = timed_reduce
    comm.allgather_object = timed_gather
    warm = WARM_UP_BATCHES * batch
    model.fit(x[:warm], y[:warm], batch_size=batch, verbose=0)
    comm.barrier()
    comm.seconds, comm.bytes = 0.0, 0
    counted.update(grad_s=0.0, grad_wall_s=0.0, grad_bytes=0, grad_calls=0, gather_s=0.0)
    start, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    seconds = time.perf_counter() - start  # fit ends with a barrier: the same on every process
    # the share of the time this process was on a core (MPI waits by polling, so near 1 unless
    # the cores are shared with other processes)
    cpu_share = (time.process_time() - cpu) / seconds
    steps = math.ceil(samples / batch)
    mine = dict(counted, comm_s=comm.seconds, comm_bytes=comm.bytes, cpu_share=cpu_share)
    everyone = allgather_object(mine)
    if comm.rank == 0:
        print(json.dumps({
            "model": name, "processes": comm.size, "seconds": seconds, "steps": steps,
            "samples_per_s": samples / seconds, "s_per_step": seconds / steps,
            "params": model.count_params(), "gradient_bytes": gradient_bytes(model),
            # per step, averaged over the processes
            "comm_s": _mean(everyone, "comm_s") / steps,
            "grad_s": _mean(everyone, "grad_s") / steps,
            "grad_wall_s": _mean(everyone, "grad_wall_s") / steps,
            "gather_s": _mean(everyone, "gather_s") / steps,
            "grad_bytes": mine["grad_bytes"] / steps, "comm_bytes": mine["comm_bytes"],
            "cpu_share": min(row["cpu_share"] for row in everyone),
        }))


def _mean(rows, key):
    return sum(row[key] for row in rows) / len(rows)


def worker_compute(name, steps, batches):
    """One process: seconds per step of ``fit`` at each local batch, and of the step's
    ``loss.backward()`` and ``optimizer.apply``."""
    import chainrule as keras
    from chainrule.tensor import Tensor

    keras.utils.set_random_seed(0)
    model = _compiled(keras, name)
    spent = {"backward": 0.0, "apply": 0.0}

    def timer(function, key):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start
        return timed

    Tensor.backward = timer(Tensor.backward, "backward")
    model.optimizer.apply = timer(model.optimizer.apply, "apply")
    result = {"model": name, "params": model.count_params(), "gradient_bytes": None, "steps": {}}
    x, y = _data(name, steps * max(batches))
    for batch in batches:
        warm = WARM_UP_BATCHES * batch
        model.fit(x[:warm], y[:warm], batch_size=batch, verbose=0)
        spent.update(backward=0.0, apply=0.0)
        start = time.perf_counter()
        model.fit(x[:steps * batch], y[:steps * batch], batch_size=batch, verbose=0)
        seconds = time.perf_counter() - start
        result["steps"][str(batch)] = {"s_per_step": seconds / steps,
                                       "backward_s": spent["backward"] / steps,
                                       "apply_s": spent["apply"] / steps}
    result["gradient_bytes"] = gradient_bytes(model)
    print(json.dumps(result))


def worker_allreduce(extra_sizes):
    """The bare in-place float32 Allreduce of each size on this MPI job: the median over five
    repetitions of (a barrier, then as many calls as fill about 0.1 s) of the time per call."""
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    times = {}
    for nbytes in sorted(set(SIZES) | set(extra_sizes)):
        buffer = np.ones(nbytes // 4, dtype=np.float32)
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)  # warm-up, and a first estimate
        start = time.perf_counter()
        for _ in range(3):
            comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        estimate = comm.bcast((time.perf_counter() - start) / 3)
        calls = max(10, min(2000, int(0.1 / max(estimate, 1e-7))))
        samples = []
        for _ in range(5):
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(calls):
                comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            samples.append(comm.allreduce(time.perf_counter() - start, op=MPI.MAX) / calls)
        times[str(nbytes)] = statistics.median(samples)
    if comm.Get_rank() == 0:
        print(json.dumps({"processes": comm.Get_size(), "times": times}))


# --- the model of the step time --------------------------------------------------------------


def ring_allreduce(processes, nbytes, alpha, beta):
    """The ring allreduce's time: a reduce-scatter and an allgather of N-1 steps each, every
    step sending 1/N of the buffer (Thakur, Rabenseifner and Gropp 2005; Patarasuk and Yuan
    2009): 2(N-1) alpha + 2(N-1)/N * bytes / beta."""
    if processes == 1:
        return 0.0
    return 2 * (processes - 1) * alpha + 2 * (processes - 1) / processes * nbytes / beta


def metric_gather(processes, alpha):
    """The step's gather of the metric states, latency-bound: mpi4py's ``allgather`` of a pickle
    is two collectives (the sizes, then the data), each ceil(log2 N) steps of recursive doubling."""
    return 0.0 if processes == 1 else 2 * math.ceil(math.log2(processes)) * alpha


def fit_alpha_beta(processes, times):
    """Latency (s) and bandwidth (bytes/s) of :func:`ring_allreduce` fitted to ``{bytes:
    seconds}`` by least squares on relative error: t = a + b * bytes, weighted by 1 / t."""
    import numpy as np

    sizes = np.array([float(k) for k in times])
    seconds = np.array([times[k] for k in times])
    design = np.stack([np.ones_like(sizes), sizes], axis=1) / seconds[:, None]
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(sizes), rcond=None)
    alpha = max(a, 0.0) / (2 * (processes - 1))
    beta = 2 * (processes - 1) / processes / b
    return alpha, beta


# --- the parent ------------------------------------------------------------------------------


def _busy_fraction(seconds=0.5):
    """The fraction of the machine's CPU time spent busy over ``seconds`` (Linux /proc/stat)."""
    def read():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait
    total, idle = read()
    time.sleep(seconds)
    total2, idle2 = read()
    return 1 - (idle2 - idle) / max(1, total2 - total)


def _wait_for_idle(limit=0.15, patience=20.0):
    """Waits (at most ``patience`` s) until other jobs leave the cores idle: this machine is
    shared. Returns the busy fraction seen last."""
    if not os.path.exists("/proc/stat"):
        return None
    deadline = time.monotonic() + patience
    busy = _busy_fraction()
    while busy > limit and time.monotonic() < deadline:
        busy = _busy_fraction()
    return busy


BUSY = []  # the busy fraction before each run, for the report


def _progress(what):
    busy = "" if BUSY[-1] is None else f" (cores {100 * BUSY[-1]:.0f}% busy before)"
    print(f"{time.strftime('%H:%M:%S')}{busy}: {what}", file=sys.stderr, flush=True)


def _run(command, env):
    BUSY.append(_wait_for_idle())
    _progress(" ".join(command[-8:]))
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _run_together(command, copies, env):
    """``copies`` of ``command`` started at once (no MPI: they share the cores, nothing else)."""
    BUSY.append(_wait_for_idle())
    _progress(f"{copies} x {' '.join(command[-6:])}")
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(copies)]
    results = []
    for process in running:
        out, err = process.communicate()
        if process.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{err[-4000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def _mpirun(processes, *args):
    from chainrule.distribution.communicator import find_mpirun

    return [find_mpirun() or "mpirun", "-np", str(processes), "--oversubscribe", "-x", "OMP_NUM_THREADS",
            "-x", "OPENBLAS_NUM_THREADS", "-x", "MKL_NUM_THREADS", sys.executable, __file__, *args]


def _median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=128, help="the global batch")
    parser.add_argument("--models", nargs="+", choices=("mlp", "convnet"), default=["mlp", "convnet"])
    parser.add_argument("--mlp-samples", type=int, default=SAMPLES["mlp"])
    parser.add_argument("--convnet-samples", type=int, default=SAMPLES["convnet"])
    parser.add_argument("--save", metavar="PATH", help="also write the runs' results to PATH (JSON)")
    parser.add_argument("--report", metavar="PATH", help="print the tables of a --save file, running nothing")
    parser.add_argument("--worker", choices=("fit", "compute", "allreduce"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--local-batches", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "fit":
        return worker_fit(args.model, args.samples, args.batch)
    if args.worker == "compute":
        return worker_compute(args.model, args.steps, args.local_batches)
    if args.worker == "allreduce":
        return worker_allreduce(args.sizes)

    if args.report:
        with open(args.report) as file:
            saved = json.load(file)
        BUSY[:] = saved["busy"]
        vars(args).update(saved["args"])
        return report(args, *_unpack(saved))

    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    samples = {"mlp": args.mlp_samples, "convnet": args.convnet_samples}
    counts = sorted(set(args.processes))
    # the local batches of the measured counts and of the projection (strong and weak scaling)
    local_batches = sorted({max(1, args.batch // n) for n in counts + list(PROJECTED)} | {args.batch},
                           reverse=True)
    fits = {(m, n): [] for m in args.models for n in counts}
    computes = {m: [] for m in args.models}
    together = {(m, n): [] for m in args.models for n in counts}
    allreduces = {n: [] for n in counts if n > 1}
    sizes = []
    for round_index in range(args.rounds):
        for model in args.models:
            steps = math.ceil(samples[model] / args.batch)
            result = _run([sys.executable, __file__, "--worker", "compute", "--model", model,
                           "--steps", str(steps), "--local-batches", *map(str, local_batches)], env)
            computes[model].append(result)
            sizes.append(result["gradient_bytes"])
            for processes in [n for n in counts if n > 1]:  # the same compute with the cores shared as in the job
                local = max(1, args.batch // processes)
                together[model, processes].extend(_run_together(
                    [sys.executable, __file__, "--worker", "compute", "--model", model, "--steps",
                     str(steps), "--local-batches", str(local)], processes, env))
        shift = round_index % len(counts)
        for processes in counts[shift:] + counts[:shift]:  # a different order each round
            for model in args.models:
                fits[model, processes].append(_run(_mpirun(
                    processes, "--worker", "fit", "--model", model, "--samples",
                    str(samples[model]), "--batch", str(args.batch)), env))
            if processes > 1:
                allreduces[processes].append(_run(_mpirun(
                    processes, "--worker", "allreduce", "--sizes", *map(str, sorted(set(sizes)))), env))
    if args.save:
        with open(args.save, "w") as file:
            json.dump({"args": {"rounds": args.rounds, "batch": args.batch, "models": args.models},
                       "busy": BUSY, "counts": counts, "computes": computes,
                       "fits": [[m, n, rows] for (m, n), rows in fits.items()],
                       "together": [[m, n, rows] for (m, n), rows in together.items()],
                       "allreduces": [[n, rows] for n, rows in allreduces.items()]}, file)
    report(args, fits, computes, together, allreduces, counts)


def _unpack(saved):
    """The results of a --save file, as :func:`main` holds them."""
    fits = {(m, n): rows for m, n, rows in saved["fits"]}
    together = {(m, n): rows for m, n, rows in saved["together"]}
    allreduces = {n: rows for n, rows in saved["allreduces"]}
    return fits, saved["computes"], together, allreduces, saved["counts"]


def report(args, fits, computes, together, allreduces, counts):
    B = args.batch
    print(f"data-parallel fit, global batch {B}, median of {args.rounds} interleaved rounds, "
          f"1 BLAS thread per process, {os.cpu_count()} cores")
    seen = [b for b in BUSY if b is not None]
    if seen:
        print(f"(the cores were busy {100 * max(seen):.0f}% at most, median {100 * _median(seen):.0f}%, "
              f"just before the {len(seen)} runs, each of which waited up to 20 s for them to be idle)")
    print("(best: the fastest round; CPU: the least share of its time a process spent on a core)")
    print(f"{'model':>8} {'procs':>5} {'samples/s':>10} {'speed-up':>8} {'ms/step':>8} {'best':>6} {'CPU':>5} "
          f"{'comm ms/step':>13} {'(% step)':>8} {'grad ms':>8} {'gather ms':>9} {'grad MB/step':>12}")
    measured = {}
    for model in args.models:
        base = None
        for n in counts:
            rows = fits[model, n]
            row = {key: _median([r[key] for r in rows]) for key in
                   ("samples_per_s", "s_per_step", "comm_s", "grad_s", "grad_wall_s", "gather_s",
                    "grad_bytes", "cpu_share")}
            row["best"] = min(r["s_per_step"] for r in rows)
            measured[model, n] = row
            base = base or (row["samples_per_s"] if n == 1 else None)
            speedup = f"{row['samples_per_s'] / base:.2f}" if base else "-"
            print(f"{model:>8} {n:>5} {row['samples_per_s']:>10.0f} {speedup:>8} "
                  f"{1e3 * row['s_per_step']:>8.2f} {1e3 * row['best']:>6.2f} {row['cpu_share']:>5.2f} "
                  f"{1e3 * row['comm_s']:>13.3f} "
                  f"{100 * row['comm_s'] / row['s_per_step']:>7.1f}% {1e3 * row['grad_s']:>8.3f} "
                  f"{1e3 * row['gather_s']:>9.3f} {row['grad_bytes'] / 1e6:>12.3f}")

    compute = {}
    for model in args.models:
        first = computes[model][0]
        for batch in first["steps"]:
            compute[model, int(batch)] = {key: _median([c["steps"][batch][key] for c in computes[model]])
                                          for key in ("s_per_step", "backward_s", "apply_s")}
        compute[model, "bytes"] = first["gradient_bytes"]
        compute[model, "params"] = first["params"]

    print("\none process, plain fit (T_compute) at each local batch: ms/step (of which backward)")
    for model in args.models:
        cells = [f"b={b}: {1e3 * c['s_per_step']:.2f} ({1e3 * c['backward_s']:.2f})"
                 for (m, b), c in compute.items() if m == model and isinstance(b, int)]
        print(f"{model:>8} {compute[model, 'params']} params, gradient buffer "
              f"{compute[model, 'bytes']} B; " + "; ".join(cells))

    fitted = {}
    if allreduces:
        print("\nbare Allreduce (float32, in place): median us per call, and the ring model's fit")
        for n, runs in allreduces.items():
            times = {int(k): _median([r["times"][k] for r in runs]) for k in runs[0]["times"]}
            alpha, beta = fit_alpha_beta(n, {k: v for k, v in times.items() if k in SIZES})
            fitted[n] = (alpha, beta)
            cells = ", ".join(f"{_size(k)} {1e6 * v:.1f} (fit {1e6 * ring_allreduce(n, k, alpha, beta):.1f})"
                              for k, v in sorted(times.items()))
            print(f"  N={n}: alpha {1e6 * alpha:.2f} us, beta {beta / 1e9:.2f} GB/s; {cells}")

    if 2 in fitted:
        alpha, beta = fitted[2]
        print("\nthe model T(N) = T_compute(B/N) + T_allreduce(N), alpha and beta fitted on N=2, "
              "against the measured step, ms. T_compute: one process alone, and N plain processes "
              "at once (the cores shared as in the job). unexplained: measured - predicted, in the "
              "collectives beyond the bare Allreduce (comm: waiting for the slowest process, the "
              "metric gather) and outside them (other: the data-parallel path's own work)")
        print(f"{'model':>8} {'procs':>5} {'T_comp 1':>8} {'T_comp N':>8} {'T_allred':>8} "
              f"{'predicted':>9} {'measured':>8} {'best':>6} {'unexplained':>11} {'(comm':>6} {'other)':>6} {'backward':>8} {'overlap saves':>13}")
        for model in args.models:
            nbytes = compute[model, "bytes"]
            for n in counts:
                local = max(1, B // n)
                alone = compute[model, local]["s_per_step"]
                shared = _median([r["steps"][str(local)]["s_per_step"] for r in together[model, n]]) \
                    if together[model, n] else alone
                t_ar = ring_allreduce(n, nbytes, alpha, beta)
                backward = compute[model, local]["backward_s"]
                step = measured[model, n]["s_per_step"]
                print(f"{model:>8} {n:>5} {1e3 * alone:>8.2f} {1e3 * shared:>8.2f} {1e3 * t_ar:>8.3f} "
                      f"{1e3 * (shared + t_ar):>9.2f} {1e3 * step:>8.2f} "
                      f"{1e3 * measured[model, n]['best']:>6.2f} "
                      f"{1e3 * (step - shared - t_ar):>11.2f} "
                      f"{1e3 * (measured[model, n]['comm_s'] - t_ar):>6.2f} "
                      f"{1e3 * (step - shared - measured[model, n]['comm_s']):>6.2f} "
                      f"{1e3 * backward:>8.2f} "
                      f"{1e3 * min(t_ar, backward):>13.3f}")

    print("\nprojection, one process per machine (networks assumed: "
          + "; ".join(f"{name} alpha {1e6 * a:g} us, beta {b / 1e9:g} GB/s" for name, a, b in NETWORKS)
          + "); T_compute from this machine's one-process steps")
    print(f"{'model':>8} {'procs':>5} {'network':>20} {'batch':>13} {'T_comp ms':>9} {'T_AR ms':>8} "
          f"{'gather ms':>9} {'samples/s':>9} {'speed-up':>8} {'overlap saves ms':>16}")
    for model in args.models:
        nbytes = compute[model, "bytes"]
        one = B / compute[model, B]["s_per_step"]
        for n in PROJECTED:
            for name, alpha, beta in NETWORKS:
                for kind, local, global_batch in (("global", max(1, B // n), B), ("local", B, B * n)):
                    c = compute[model, local]
                    t_ar = ring_allreduce(n, nbytes, alpha, beta)
                    t_gather = metric_gather(n, alpha)
                    rate = global_batch / (c["s_per_step"] + t_ar + t_gather)
                    print(f"{model:>8} {n:>5} {name:>20} {f'{kind} {global_batch}':>13} "
                          f"{1e3 * c['s_per_step']:>9.2f} {1e3 * t_ar:>8.3f} {1e3 * t_gather:>9.3f} {rate:>9.0f} "
                          f"{rate / one:>8.2f} {1e3 * min(t_ar, c['backward_s']):>16.3f}")


def _size(nbytes):
    return f"{nbytes // 2 ** 20}M" if nbytes >= 2 ** 20 and nbytes % 2 ** 20 == 0 else (
        f"{nbytes // 1024}K" if nbytes % 1024 == 0 else f"{nbytes}B")


if __name__ == "__main__":
    main()
