"""Data-parallel training on several processes and machines, over MPI, with Keras 3's
``keras.distribution`` names. See :mod:`chainrule.distribution.distribution_lib`."""

from chainrule.distribution.distribution_lib import (DataParallel, DeviceMesh, Distribution,
                                                     ModelParallel, active_data_parallel,
                                                     communicator, distribution, initialize,
                                                     list_devices, num_processes, process_id,
                                                     set_distribution)

__all__ = ["DataParallel", "DeviceMesh", "Distribution", "ModelParallel", "active_data_parallel",
           "communicator", "distribution", "initialize", "list_devices", "num_processes",
           "process_id", "set_distribution"]
