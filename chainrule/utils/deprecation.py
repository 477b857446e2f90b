"""Deprecation warnings for the tf.keras 2 spellings chainrule still accepts (``lr=``, ``decay=``,
``"logcosh"``...)."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn_deprecated(message):
    """Issues a DeprecationWarning attributed to the first caller outside chainrule (the user's
    ``Adam(lr=...)``, however deep the calls inside chainrule), which Python's default filter
    shows when that caller is the user's script."""
    frame, level = sys._getframe(1), 2  # stacklevel 2 is the frame that called this
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)
