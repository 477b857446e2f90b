"""Sequential: a plain stack of layers, each feeding the next."""

from chainrule import _backend
from chainrule.layers.core.input_layer import InputLayer
from chainrule.layers.masking_utils import adjust_rank
from chainrule.layers.layer import Layer, format_shape, keep_functions, shape_tuple
from chainrule.models.model import Model
from chainrule.ops.node import KerasTensor
from chainrule.tensor import Tensor


class Sequential(Model):
    """A model whose layers run one after the other.

    The model knows its layers and their weights; ``compile`` records how to train it and
    ``fit`` / ``evaluate`` / ``predict`` hand it to the loop in :mod:`chainrule.training`.

    Args:
        layers: the layers, in order; the first may be an ``Input`` or carry ``input_shape``,
            which builds the model at once (else it is built by its first data).
        name: the model's name ("sequential", numbered when repeated).

    Example::

        model = Sequential([Dense(128, activation="relu", input_shape=(784,)),
                            Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=10, batch_size=128, validation_split=0.2)
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self.built_input_shape = None
        self.output_shape = None
        self._names = set()  # the layers' names, so add checks a name in O(1)
        self._shapes = []  # once built: the output shape after each layer, so add and pop are O(1)
        self._output_shapes = {}  # input shapes already checked through every layer -> output
        self._graph = None  # (input, output) KerasTensors, made when first asked for
        self._input_layer = None  # the Input the model was given, if any
        for layer in layers or []:
            self.add(layer)

    # --- structure --------------------------------------------------------------------------

    @property
    def layers(self):
        return list(self._sublayers)

    def add(self, layer):
        """Appends ``layer``; builds the model when its input shape is known.

        Once the model is built, only the new layer's output shape is worked out (the model
        keeps the running shape), so building a model of n layers by ``add`` takes O(n).

        Raises:
            TypeError: if ``layer`` is not a Layer.
            ValueError: for a repeated layer name, an Input that is not first, or a layer that
                does not accept the previous layer's output (nothing is added then).
        """
        if isinstance(layer, KerasTensor) and isinstance(getattr(layer._keras_history, "operation", None),
                                                         InputLayer):
            layer = layer._keras_history.operation  # Input(shape=...) as the first entry
        if isinstance(layer, InputLayer):
            if self._sublayers or self._declared_input_shape is not None:
                raise ValueError(f'Sequential "{self.name}": an Input can only come first')
            self._declared_input_shape = layer._declared_input_shape
            self._input_layer = layer  # its symbolic input starts the model's graph
            return
        if not isinstance(layer, Layer):
            raise TypeError(f'Sequential "{self.name}": expected a Layer, received {layer!r}')
        if layer.name in self._names:
            raise ValueError(f'Sequential "{self.name}": a layer named "{layer.name}" is already '
                             f"in the model; layer names must be unique")
        first = not self._sublayers
        declared = self._declared_input_shape
        if first and declared is None:
            declared = layer._declared_input_shape
        if self.built:
            # the layer called on the graph's output (one more node, O(1) per add) works out its
            # output shape, and refuses a misfit before anything is added
            if self._graph is None:
                self._symbolic_graph()
            output = layer(self._graph[1])
            shape = output.shape
        self._sublayers.append(layer)
        self._forget_tracked()
        if self.built:
            self._shapes.append(shape)
            self.output_shape = shape
            self._graph = (self._graph[0], output)
        elif first and declared is not None:
            try:
                self.build(declared)
            except BaseException:
                self._sublayers.pop()
                self._forget_tracked()
                raise
        if first:
            self.dtype = layer.dtype  # data is cast to the first layer's dtype
            self._declared_input_shape = declared
        self._names.add(layer.name)
        self._output_shapes.clear()

    def pop(self):
        """Removes the last layer.

        Raises:
            ValueError: if the model has no layers.
        """
        if not self._sublayers:
            raise ValueError(f'Sequential "{self.name}" has no layers to pop')
        layer = self._sublayers.pop()
        self._forget_tracked()
        self._names.discard(layer.name)
        self._output_shapes.clear()
        self._graph = None
        if self.built:
            self._shapes.pop()
            self.output_shape = self._shapes[-1] if self._shapes else self.built_input_shape

    def build(self, input_shape=None):
        """Builds every layer for inputs of ``input_shape`` (batch axis first, may be None)."""
        if input_shape is None:
            input_shape = self._declared_input_shape
        if input_shape is None:
            raise ValueError(f'Sequential "{self.name}": build needs an input shape; pass '
                             f"input_shape to the first layer, start with Input(shape=...), or "
                             f"call build((None, ...))")
        input_shape = (None,) + shape_tuple(input_shape, f"{self.name}: input shape")[1:]
        # each layer called on the previous one's symbolic output: that builds it, checks what it
        # receives, gives its output shape, and makes every layer's .output exist, as in Keras
        x = inputs = self._input_tensor(input_shape)
        shapes = []
        for layer in self._sublayers:
            x = layer(x)
            shapes.append(x.shape if isinstance(x, KerasTensor) else
                          [t.shape for t in x] if isinstance(x, (list, tuple)) else x)
        self._graph = (inputs, x)
        self._shapes = shapes
        self.output_shape = shapes[-1] if shapes else input_shape
        self.built_input_shape = input_shape
        self.input_shape = input_shape
        self.built = True

    def _output_shape(self, shape):
        for layer in self._sublayers:
            shape = layer.output_shape_for(shape)
        return shape

    def output_shape_for(self, input_shape):
        """Builds the model for ``input_shape`` if needed and returns the output shape, with
        each layer checking the shape it receives."""
        known = self._output_shapes.get(input_shape)
        if known is not None:
            return known
        input_shape = shape_tuple(input_shape, f"{self.name}: input shape")
        if self._declared_input_shape is not None:
            first = self._sublayers[0] if self._sublayers else None
            who = None  # the model's own Input, unless its first layer declared the shape
            if first is not None and first._declared_input_shape is not None:
                who = f"{self.describe()}: its first layer, {first.describe()},"
            self._check_declared(input_shape, who)
        if not self.built:
            self.build(input_shape)
        output_shape = self._output_shape(input_shape)
        if len(self._output_shapes) > 64:
            self._output_shapes.clear()
        self._output_shapes[input_shape] = output_shape
        return output_shape

    def build_for(self, input_shape):
        self.output_shape_for(input_shape)

    _adjusts_input_rank = True

    def _adjust_input_rank(self, inputs):
        # Keras builds a Sequential with a known input shape as a functional model, which adds
        # or drops a trailing axis of 1 (a column of scalars for input_shape=[1])
        return adjust_rank(inputs, self._declared_input_shape)

    def describe(self):
        return f'Sequential model "{self.name}"'

    def call(self, x, training=False, mask=None):
        """Runs the layers in turn; a mask (``mask``, else the one ``x`` carries) goes with the
        data to each layer, which passes on its own output's mask."""
        if mask is not None:
            if not isinstance(x, Tensor):
                x = Tensor(_backend.as_array(x, where=f"{self.name}: input"))
            x._keras_mask = mask
        for layer in self._sublayers:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._sublayers:
            shape = layer.compute_output_shape(shape)
        return shape

    def count_params(self):
        if not self.built:
            raise ValueError(f'Sequential "{self.name}" is not built yet: give the first layer '
                             f"an input_shape, or call build() or fit() first")
        return sum(w.size for w in self._all_weights())

    # --- the symbolic graph (for layer.output and Model(model.inputs, ...)) --------------------

    def _input_tensor(self, input_shape):
        """The symbolic input the model's graph starts from: its own Input's, when it was given
        one for this shape, else a new one."""
        given = self._input_layer
        if given is not None and tuple(given.batch_shape[1:]) == tuple(input_shape[1:]):
            return given.output
        return InputLayer(batch_shape=input_shape).output

    def _symbolic_graph(self):
        if self._graph is None:
            if not self.built:
                raise AttributeError(f"{self.describe()} is not built, so it has no inputs or outputs "
                                     f"yet; give it an input shape (Input(shape=...) first)")
            x = inputs = self._input_tensor(self.built_input_shape)
            for layer in self._sublayers:
                x = layer(x)
            self._graph = (inputs, x)
        return self._graph

    @property
    def inputs(self):
        return [self._symbolic_graph()[0]]

    @property
    def outputs(self):
        return [self._symbolic_graph()[1]]

    @property
    def input(self):
        """Inside another model, the input of its first call there (Keras's rule for any
        layer); on its own, the input of its graph."""
        return Layer.input.fget(self) if self._inbound_nodes else self._symbolic_graph()[0]

    @property
    def output(self):
        return Layer.output.fget(self) if self._inbound_nodes else self._symbolic_graph()[1]

    @property
    def output_names(self):
        return [self._sublayers[-1].name] if self._sublayers else ["output"]

    def get_config(self):
        """The model's name, its declared input shape (and its Input's dtype, when that is not
        float32: token ids), the shape it was built for, and each layer's class name and
        configuration (a user's activation function in it as the function itself, so
        ``from_config`` rebuilds the same model; files name it, see chainrule.saving)."""
        declared = self._declared_input_shape
        config = {"name": self.name, "trainable": self.trainable,
                  "batch_input_shape": None if declared is None else list(declared),
                  "built_input_shape": None if not self.built else list(self.built_input_shape),
                  "layers": [{"class_name": type(layer).__name__,
                              "config": keep_functions(layer.get_config(), layer)}
                             for layer in self._sublayers]}
        input_dtype = getattr(self._input_layer, "input_dtype", None)
        if input_dtype not in (None, "float32"):
            config["input_dtype"] = input_dtype
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new, unbuilt-or-built model from :meth:`get_config`'s description; layer classes
        resolve through chainrule's registry (and ``custom_objects``)."""
        from chainrule.saving.serialization import model_from_config

        return model_from_config({"class_name": "Sequential", "config": config}, "Sequential.from_config",
                           custom_objects)

    def __repr__(self):
        shape = format_shape(self.built_input_shape) if self.built else "unbuilt"
        return f"<Sequential name={self.name}, {len(self._sublayers)} layers, input {shape}>"
