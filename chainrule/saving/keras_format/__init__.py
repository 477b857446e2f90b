"""Keras's model files (.keras archives, .weights.h5, legacy .h5), read and written by chainrule."""
