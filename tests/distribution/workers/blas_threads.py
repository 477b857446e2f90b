"""Worker: each process's BLAS thread count before and after initialize(), as JSON by rank."""

import json
import os
import sys

import chainrule as keras
from chainrule.distribution import threads

before = threads.get_num_threads()
keras.distribution.initialize()
rank = keras.distribution.process_id()
with open(os.path.join(sys.argv[1], f"threads_{rank}.json"), "w") as f:
    json.dump({"before": before, "after": threads.get_num_threads(),
               "cores": os.cpu_count(), "allowed": len(os.sched_getaffinity(0))}, f)
