"""Learning-rate schedules: the learning rate as a function of the optimizer's step count."""

import bisect
import math


class LearningRateSchedule:
    """Base class: ``schedule(step)`` returns the learning rate for update number ``step``
    (counted from 0, before the update)."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return {}


def _positive(value, name, where):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive number, received {value!r}")
    return value


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase`` the
    exponent is rounded down to an integer."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = float(_positive(initial_learning_rate, "initial_learning_rate",
                                                     "ExponentialDecay"))
        self.decay_steps = _positive(decay_steps, "decay_steps", "ExponentialDecay")
        self.decay_rate = float(_positive(decay_rate, "decay_rate", "ExponentialDecay"))
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate**exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``; with ``staircase`` the
    ratio ``step / decay_steps`` is rounded down. With ``decay_steps=1`` it is tf.keras 2's
    ``decay`` argument of the optimizers."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        self.initial_learning_rate = float(_positive(initial_learning_rate, "initial_learning_rate",
                                                     "InverseTimeDecay"))
        self.decay_steps = _positive(decay_steps, "decay_steps", "InverseTimeDecay")
        if not isinstance(decay_rate, (int, float)) or isinstance(decay_rate, bool) or (
                not math.isfinite(decay_rate) or decay_rate < 0):
            raise ValueError(f"InverseTimeDecay: decay_rate must be a finite non-negative number, "
                             f"received {decay_rate!r}")
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        progress = step / self.decay_steps
        if self.staircase:
            progress = math.floor(progress)
        return self.initial_learning_rate / (1.0 + self.decay_rate * progress)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` while
    ``step <= boundaries[1]``, ... and ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name=None):
        boundaries, values = list(boundaries), [float(v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"PiecewiseConstantDecay: expected one more value than boundaries, "
                             f"received {len(boundaries)} boundaries and {len(values)} values")
        if boundaries != sorted(boundaries):
            raise ValueError(f"PiecewiseConstantDecay: boundaries must increase, received {boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter 2017, without restarts), after an optional linear warmup:

        warmup:  initial + (warmup_target - initial) * step / warmup_steps   for step < warmup_steps
        decay:   top * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha),
                 s = min(step - warmup_steps, decay_steps), top = warmup_target or initial
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None,
                 warmup_target=None, warmup_steps=0):
        if initial_learning_rate < 0:
            raise ValueError(f"CosineDecay: initial_learning_rate must be >= 0, "
                             f"received {initial_learning_rate}")
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = _positive(decay_steps, "decay_steps", "CosineDecay")
        self.alpha = float(alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        top = self.initial_learning_rate
        if self.warmup_target is not None:
            if step < self.warmup_steps:
                return top + (self.warmup_target - top) * step / self.warmup_steps
            top = self.warmup_target
            step = step - self.warmup_steps
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return top * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}
