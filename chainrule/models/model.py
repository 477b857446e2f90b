"""Model: the base of every model, with Keras's ``compile``, ``fit``, ``evaluate``, ``predict``,
``save`` and the steps a subclass may override.

There are three ways to make one, as in Keras:

* ``Sequential([...])``, a stack of layers (:mod:`chainrule.models.sequential`);
* ``Model(inputs, outputs)``, a graph of layers called on ``Input()``
  (:mod:`chainrule.models.functional`);
* ``class MyModel(Model)`` with layers made in ``__init__`` and the computation in ``call``.

Training itself is the loop in :mod:`chainrule.training.loop`, which calls the model's
:meth:`Model.train_step` once per batch; overriding it (with :meth:`Model.compute_loss`,
``loss.backward()`` and ``self.optimizer.apply``) changes what one step does while keeping the
loop, the callbacks and the progress bar.
"""

import json

from chainrule import metrics as metrics_module
from chainrule.distribution.distribution_lib import active_data_parallel
from chainrule.jit_compile import RecordedFunction
from chainrule.layers.layer import Layer
from chainrule.models import summary as summary_module
from chainrule.ops.node import KerasTensor
from chainrule.tensor import data_of
from chainrule.training import loop
from chainrule.training.compile import Compiled, match_outputs
from chainrule.training.loop import flatten_logs
from chainrule.utils import tree
from chainrule.utils.data import unpack_x_y_sample_weight


def _functional_arguments(args, kwargs):
    return (len(args) == 2 or (len(args) == 1 and "outputs" in kwargs)
            or ("inputs" in kwargs and "outputs" in kwargs))


class Model(Layer):
    """A model: layers that train together.

    ``Model(inputs, outputs)`` builds a functional model (a graph); a subclass defines
    ``__init__`` (making its layers, which it tracks by attribute) and ``call(inputs,
    training=None)``.

    Example::

        class MLP(chainrule.Model):
            def __init__(self):
                super().__init__()
                self.hidden = layers.Dense(64, activation="relu")
                self.out = layers.Dense(10)

            def call(self, x):
                return self.out(self.hidden(x))
    """

    def __new__(cls, *args, **kwargs):
        # Model(inputs, outputs) is a functional model; a subclass becomes one in __init__, when
        # it calls Model.__init__ with inputs and outputs (its own arguments may be anything)
        if cls is Model and _functional_arguments(args, kwargs):
            from chainrule.models.functional import Functional

            cls = Functional
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs):
            # a subclass whose __init__ builds a graph and calls super().__init__(inputs, outputs)
            from chainrule.models.functional import Functional

            if not isinstance(self, Functional):
                self.__class__ = _with_functional(type(self), Functional)
            Functional.__init__(self, *args, **kwargs)
            return
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected arguments {args or sorted(kwargs)}")
        super().__init__(**kwargs)
        self.compiled = None
        self.history = None
        self.stop_training = False

    # --- structure --------------------------------------------------------------------------

    @property
    def layers(self):
        """The model's own layers (not those inside them), in the order they were added."""
        return [layer for layer in self._tracked(Layer) if not getattr(layer, "_is_operation", False)]

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at ``index`` in :attr:`layers`.

        Raises:
            ValueError: for an unknown name or an index out of range, listing what there is.
        """
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError("get_layer: pass a name or an index, not both")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: the model has {len(layers)} layers, received index {index!r}")
            return layers[index]
        if name is None:
            raise ValueError("get_layer: pass a layer name or an index")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the model's layers are "
                         f"{[layer.name for layer in layers]}")

    @property
    def output_names(self):
        """The names the logs and the loss dicts use for the outputs."""
        return getattr(self, "_output_names", None) or ["output"]

    def build(self, input_shape=None):
        """Builds a subclassed model's layers by running ``call`` on symbolic inputs of
        ``input_shape`` (a shape, or a list or dict of shapes)."""
        if input_shape is None:
            raise ValueError(f"{self.describe()}: build needs an input shape")
        self._build_shape = input_shape
        self.compute_output_spec(_symbolic(input_shape))

    def build_for(self, input_shape):
        if not self.built:
            self.build(input_shape)

    def compute_output_spec(self, *args, **kwargs):
        if type(self).compute_output_shape is Layer.compute_output_shape:
            if not self.built and args and not kwargs:
                self._build_shape = tree.map_structure(
                    lambda x: list(x.shape) if isinstance(x, KerasTensor) else x, args[0])
            self.built = True
            # placeholders of two samples stand in for any batch (never a copy of the data's size)
            args, kwargs = tree.map_structure(
                lambda x: KerasTensor((None,) + x.shape[1:], x.dtype) if isinstance(x, KerasTensor) else x,
                (args, kwargs))
            return self._trace(args, kwargs)
        return super().compute_output_spec(*args, **kwargs)

    def output_spec_for(self, x):
        """The model's symbolic output for data ``x`` (arrays: one, or a list or dict), building
        the model if it is not built yet; nothing runs on ``x``'s values."""
        x = _symbolic_like(x)
        if self._adjusts_input_rank:
            x = self._adjust_input_rank(x)
        return self.compute_output_spec(x)

    def describe(self):
        return f'Model "{self.name}" ({type(self).__name__})'

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints the layers, their output shapes and parameter counts, and the totals, as
        Keras 3's table (with "Connected to" for a functional model)."""
        print_fn = print_fn or print
        for line in summary_module.summary_lines(self):
            print_fn(line)

    def count_params(self):
        if not self.built:
            raise ValueError(f"{self.describe()} is not built yet: give it an input shape, or call "
                             f"build() or fit() first")
        return sum(w.size for w in self._all_weights())

    # --- compile ----------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Sets the optimizer, loss and metrics, each a name or an object.

        Args:
            optimizer: "adam", "sgd", "rmsprop" (the default), "adamw", "adagrad", or an Optimizer.
            loss: a loss name ("categorical_crossentropy", "mse", ...), a Loss, or a function;
                for a model with several outputs, a list (one per output, None for none) or a
                dict by output name, or one loss for every output.
            loss_weights: a list or dict of numbers: the total loss is ``sum w_i * L_i``.
            metrics: a list of metric names ("accuracy", ...) or Metric objects, reported per
                epoch; for several outputs, a list of lists or a dict by output name. They
                ignore sample weights, as in Keras.
            weighted_metrics: metrics that take the sample weights into account.
            jit_compile: whether the default ``train_step``, ``test_step`` and ``predict_step``
                are recorded and replayed (see :mod:`chainrule.jit_compile`): True, False, or
                "auto" (the default: True, except with ``run_eagerly``). Replayed steps give
                bitwise the results of eager ones; a step that cannot be recorded runs eagerly
                with a warning. Overridden ``train_step``s, ``test_step``s and
                ``predict_step``s run eagerly (unless they call the default one), and so does
                data-parallel training.
            run_eagerly: True turns ``jit_compile`` off, as in Keras.
            steps_per_execution, auto_scale_loss: accepted for Keras compatibility; chainrule
                runs step by step.

        Raises:
            ValueError: for an unknown name (listing the valid ones); the previous
                configuration stays.
        """
        if steps_per_execution != 1 and (isinstance(steps_per_execution, bool) or
                                         not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError(f"compile: steps_per_execution must be a positive int, received "
                             f"{steps_per_execution!r}")
        if jit_compile not in (True, False, "auto") or not isinstance(jit_compile, (bool, str)):
            raise ValueError(f'compile: jit_compile must be True, False or "auto", received {jit_compile!r}')
        self.compiled = Compiled(optimizer, loss, metrics, weighted_metrics, loss_weights)
        self.jit_compile = bool(jit_compile) and not run_eagerly

    @property
    def jit_compile(self):
        """Whether the default steps are recorded and replayed (set by ``compile``)."""
        return self.__dict__.get("_jit_compile", True)

    @jit_compile.setter
    def jit_compile(self, value):
        self.__dict__["_jit_compile"] = bool(value)
        self._forget_recorded_steps()

    def _forget_recorded_steps(self, kind=None):
        """Drops the recorded steps (those of ``kind`` alone if given): each fit, evaluate and
        predict call records its own, so that what changed in Python between calls (a layer's
        attribute, an activation a callback wraps) is recorded. Within a call, and between
        ``train_on_batch`` calls, Python attributes that ``call`` reads are fixed once recorded,
        as in Keras's compiled functions."""
        steps = self.__dict__.setdefault("_recorded_steps", {})
        if kind is None:
            steps.clear()
        else:
            steps.pop(kind, None)

    def _recorded_step(self, kind):
        """The :class:`RecordedFunction` of the default step ``kind``, or None where it runs
        eagerly (jit_compile off, data-parallel training)."""
        if not self.jit_compile or active_data_parallel() is not None:
            return None
        steps = self.__dict__.setdefault("_recorded_steps", {})
        step = steps.get(kind)
        if step is None:
            body, watch = {
                "train": (self._train_body, lambda: self.non_trainable_weights),
                "test": (self._test_body, lambda: self.weights),
                "predict": (self._predict_body, lambda: self.weights),
            }[kind]
            step = steps[kind] = RecordedFunction(body, name=f"{self.name}'s {kind}_step", watch=watch)
        return step

    @property
    def compiled(self):
        """The training configuration ``compile`` settled (None before)."""
        return self.__dict__.get("_compiled")

    @compiled.setter
    def compiled(self, value):
        self._compiled = value
        self._loss_tracker = None if value is None else metrics_module.Mean(name="loss")

    @property
    def optimizer(self):
        return None if self.compiled is None else self.compiled.optimizer

    @optimizer.setter
    def optimizer(self, value):
        if self.compiled is None:
            raise AttributeError("set the optimizer with compile(optimizer=...)")
        from chainrule import optimizers

        self.compiled.optimizer = optimizers.get(value)

    @property
    def loss(self):
        return None if self.compiled is None else self.compiled.loss

    @property
    def metrics(self):
        """The model's metric objects: the loss tracker and the compiled metrics (once fit or
        evaluate has matched them to the outputs), the per-output loss trackers, then the
        Metric objects the model and its layers hold as attributes."""
        found = []
        if self.compiled is not None:
            found.append(self._loss_tracker)
            if self.compiled.compile_metrics is not None and self.compiled.compile_metrics.built:
                found.append(self.compiled.compile_metrics)
            if self.compiled.compile_loss is not None:
                found.extend(self.compiled.compile_loss.trackers)
        for layer in [self] + self._walk_layers():
            found.extend(m for m in layer._tracked(metrics_module.Metric) if m not in found)
        return found

    @property
    def metrics_names(self):
        return [metric.name for metric in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self):
        """The current value of every metric, by log name, as Python floats (the compiled
        metrics' dict is spread into its entries)."""
        return flatten_logs({metric.name: metric.result() for metric in self.metrics})

    # --- one step ---------------------------------------------------------------------------

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The loss to minimize: the compiled loss of ``y`` against ``y_pred`` plus every loss
        the layers added with ``add_loss`` during the forward pass.

        Raises:
            ValueError: when there is no loss at all (none compiled, none added).
        """
        total = None
        compile_loss = None if self.compiled is None else self.compiled.compile_loss
        if compile_loss is not None and y is not None:
            if compile_loss.output_names is None:
                compile_loss.build(getattr(self, "_output_names", None) or self.output_names)
            total = compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(f"{self.describe()}: there is no loss to compute; pass loss=... to "
                             f"compile(), add one with add_loss() in call(), or override train_step")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with this batch and returns every metric's value."""
        compiled = self.compiled.compile_metrics if self.compiled is not None else None
        if compiled is not None and y is not None:
            if not compiled.built:  # a step called outside fit: match the metrics to this batch
                names = getattr(self, "_output_names", None) or self.output_names
                if len(tree.flatten(y_pred)) > len(names):
                    names = [f"output_{i + 1}" for i in range(len(tree.flatten(y_pred)))]
                targets = match_outputs(y, names, "y")
                compiled.build(names, [data_of(p).shape for p in tree.flatten(y_pred)],
                               [None if t is None else data_of(t).shape for t in targets])
            compiled.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def train_step(self, data):
        """One step of gradient descent on one batch ``data`` (``(x, y)``, ``(x, y,
        sample_weight)`` or ``x``):

        1. forward: ``y_pred = self(x, training=True)`` records the graph;
        2. loss: :meth:`compute_loss`, a scalar tensor;
        3. backward: ``loss.backward()`` fills ``.grad`` of every trainable weight;
        4. update: ``self.optimizer.apply(grads, variables)`` changes the weights in place.

        Returns the logs: ``{"loss": ..., metric name: ...}``. Override it to change what a step
        does; ``fit`` keeps batching, callbacks and the progress bar.
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        weights = _Weights(self.trainable_weights)
        step = self._recorded_step("train")
        if step is None:
            y_pred, loss = self._train_body(x, y, sample_weight, weights)
        else:  # steps 1 and 2 of a shape record, the others replay (chainrule.jit_compile)
            y_pred, loss = step(x, y, sample_weight, weights)
        self._loss_tracker.update_state(float(loss.data), sample_weight=_batch_length(x))
        variables = weights.variables
        if variables:
            self.optimizer.apply([variable.grad for variable in variables], variables)
        # the gradients stay in .grad until the next step, for callbacks that watch them
        return self.compute_metrics(x, y, y_pred, sample_weight)

    train_step.is_default_step = True  # the loop warns of a frozen model only for this step

    def _train_body(self, x, y, sample_weight, weights):
        """Steps 1 to 3 of :meth:`train_step`, the part ``jit_compile`` records."""
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
        if weights.variables:
            for variable in weights.variables:
                variable.grad = None
            loss.backward()
        return y_pred, loss

    def test_step(self, data):
        """The loss and metrics of one batch in inference mode (run without a graph)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        step = self._recorded_step("test")
        y_pred, loss = (step or self._test_body)(x, y, sample_weight)
        self._loss_tracker.update_state(float(loss.data), sample_weight=_batch_length(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _test_body(self, x, y, sample_weight):
        y_pred = self(x, training=False)
        return y_pred, self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                         training=False)

    def predict_step(self, data):
        """The outputs for one batch of inputs."""
        x, _, _ = unpack_x_y_sample_weight(data)
        step = self._recorded_step("predict")
        return (step or self._predict_body)(x)

    def _predict_body(self, x):
        return self(x, training=False)

    # --- training (delegated to chainrule.training) ----------------------------------------

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model for ``epochs`` passes over ``(x, y)``.

        Args:
            x, y: the inputs and targets: arrays with samples on the first axis, or lists or
                dicts of them for several inputs or outputs. Or ``x`` alone yields the batches
                ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``: a generator, any iterable
                (a ``torch.utils.data.DataLoader``: anything NumPy converts is taken), or a
                :class:`chainrule.utils.PyDataset` (see :mod:`chainrule.training.loop`).
            batch_size: samples per step (32); ignored, as by Keras, when ``x`` yields batches.
            epochs: the epoch to stop at (training runs epochs ``initial_epoch`` .. ``epochs-1``).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch ("auto": 1).
            callbacks: a list of Callback objects.
            validation_split: the fraction of the data, taken from its end before shuffling,
                held out to validate after each epoch.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``, or
                batches as ``x`` may be (takes precedence over validation_split).
            shuffle: reshuffle the training data before each epoch.
            class_weight: ``{class: weight}``, multiplying each sample's loss by its class's weight.
            sample_weight: a weight per sample.
            initial_epoch: the epoch to start from (to resume).
            steps_per_epoch, validation_steps: batches per epoch and per validation (None: a
                whole pass). With ``steps_per_epoch`` each epoch carries on through the data
                where the last one stopped, as in Keras; an endless generator needs it.
            validation_batch_size: batch size of validation (batch_size).
            validation_freq: validate every this many epochs (counted from epoch 1), or after
                the epochs of a list (``[1, 5, 10]``).

        Returns:
            A History: ``history.history["loss"]``, ``["accuracy"]``, ``["val_loss"]``...

        Raises:
            RuntimeError: if the model is not compiled.
            ValueError: for any bad argument or data, before any weight changes.
        """
        self._forget_recorded_steps()
        return loop.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
                        validation_data, shuffle, class_weight, sample_weight, initial_epoch,
                        validation_batch_size, validation_freq, steps_per_epoch, validation_steps)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """The loss and metrics on ``(x, y)``: a float when there are no metrics, else
        ``[loss, metric...]`` (or a dict with ``return_dict``)."""
        self._forget_recorded_steps("test")
        return loop.evaluate(self, x, y, batch_size, verbose, sample_weight, callbacks, return_dict,
                             steps)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for ``x``, computed in batches (32) without a graph, as NumPy arrays (a
        list or dict of them for several outputs)."""
        self._forget_recorded_steps("predict")
        return loop.predict(self, x, batch_size, verbose, callbacks, steps)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on this batch; returns its loss (and metrics)."""
        return loop.train_on_batch(self, x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return loop.test_on_batch(self, x, y, sample_weight, return_dict)

    def predict_on_batch(self, x):
        return loop.predict_on_batch(self, x)

    # --- configuration and saving (chainrule.saving holds the format) -----------------------

    def get_config(self):
        if type(self).get_config is Model.get_config and not type(self).__module__.startswith("chainrule."):
            return {"name": self.name, "trainable": self.trainable, **self._auto_config()}
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from :meth:`get_config`'s description: a functional model's graph is rebuilt
        (as an instance of ``cls``); any other configuration goes to ``cls``'s constructor."""
        if isinstance(config, dict) and "layers" in config and "input_layers" in config:
            from chainrule.saving.serialization import functional_from_config

            return functional_from_config(config, cls, custom_objects)
        return super().from_config(config)

    def to_json(self, **kwargs):
        """The architecture as a JSON string (no weights), for :func:`model_from_json`."""
        from chainrule.saving.serialization import serialize_model

        return json.dumps(serialize_model(self, "to_json"), **kwargs)

    def save(self, filepath, overwrite=True, **kwargs):
        """Writes the architecture, weights, compile settings and optimizer state to ``filepath``:
        a ``.keras`` archive (Keras 3's format, which Keras loads) or a ``.chainrule`` file
        (chainrule's own, which also keeps the random generator's state); see
        :mod:`chainrule.saving`."""
        from chainrule.saving import save_model

        if kwargs:
            raise TypeError(f"save: unexpected arguments {sorted(kwargs)}")
        save_model(self, filepath)

    def save_weights(self, filepath, overwrite=True):
        """Writes the weights alone to ``filepath``: ``.weights.h5`` (Keras 3's layout), ``.h5``
        (tf.keras 2's) or ``.chainrule``."""
        from chainrule.saving import save_weights

        save_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Reads weights into this model from a file :meth:`save_weights` or :meth:`save` wrote,
        or Keras's (``.weights.h5``, ``.keras``, a legacy ``.h5``); every shape is checked before
        any weight changes."""
        from chainrule.saving import load_weights

        load_weights(self, filepath)
        self._synchronized_with = None  # under data parallelism, rank 0's are sent out again

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_functional_classes = {}


def _with_functional(cls, functional):
    """``cls`` (a subclass of Model whose ``__init__`` calls ``super().__init__(inputs,
    outputs)``) with Functional behind it, so the call builds a graph, as Keras does."""
    if cls not in _functional_classes:
        _functional_classes[cls] = type(cls.__name__, (cls, functional), {"__module__": cls.__module__,
                                                                          "__qualname__": cls.__qualname__})
    return _functional_classes[cls]


def _symbolic(shape):
    """KerasTensors of ``shape`` (one shape, or a list or dict of them)."""
    from chainrule.layers.layer import map_shapes

    return map_shapes(lambda s: KerasTensor((None,) + tuple(s[1:])), shape)


def _symbolic_like(x):
    def spec(value):
        value = data_of(value)
        return KerasTensor(value.shape, value.dtype)
    return tree.map_structure(spec, x)


def _batch_length(x):
    first = tree.flatten(x)[0]
    return len(data_of(first))


class _Weights:
    """The trainable weights of a step, as one argument of the recorded step: a program is
    specific to which weights it differentiates (freezing a layer records anew)."""

    __slots__ = ("variables", "key")

    def __init__(self, variables):
        self.variables = variables
        self.key = tuple(map(id, variables))

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, _Weights) and self.key == other.key
