"""The MNIST program trained data parallel: the same code on every process, run by mpirun.

    pip install ".[mpi]"
    CHAINRULE_DATA_DIR=../shared/data mpirun -np 2 python examples/data_parallel_mnist.py
    (as root, Open MPI also wants OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)

Every process loads the data and builds the model; ``fit``'s batch_size is the global batch,
split among the processes; their gradients are summed before each update, so all hold the same
weights, those one process would have. Only the first process prints. Started without mpirun,
it trains on one process, unchanged.
"""

import argparse

import chainrule as keras
from chainrule import layers

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--batch-size", type=int, default=256, help="the global batch")
parser.add_argument("--samples", type=int, default=None, help="train on the first N images only")
args = parser.parse_args()

keras.distribution.initialize()  # joins the MPI job (a no-op in one process)
keras.distribution.set_distribution(keras.distribution.DataParallel())
keras.utils.set_random_seed(0)  # the same data order as one process with this seed
rank = keras.distribution.process_id()

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train[:args.samples].reshape(-1, 784).astype("float32") / 255.0
y_train = keras.utils.to_categorical(y_train[:args.samples], 10)
x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
y_test = keras.utils.to_categorical(y_test, 10)

model = keras.Sequential([
    keras.Input(shape=(784,)),
    layers.Dense(128, activation="relu"),
    layers.Dense(64, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.1,
          verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
if rank == 0:
    processes = keras.distribution.num_processes()
    print(f"{processes} process{'es' if processes > 1 else ''}: test loss {loss:.4f}, "
          f"test accuracy {accuracy:.4f}")
