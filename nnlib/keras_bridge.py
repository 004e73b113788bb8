"""Copy weights between nnlib and Keras models, and seed Keras/TensorFlow.

The only nnlib module that imports Keras or TensorFlow. nnlib stores weights in Keras's
layouts (a Dense kernel is ``(in, units)``), so copying needs no transposes: the cross-checks
in every chapter rest on these functions.

:func:`to_keras` and :func:`from_keras` never change a model silently: an activation's
parameters (Leaky ReLU's slope, ELU's alpha, GELU's ``approximate``) and the kernel and
bias regularizers cross in both directions, and whatever has no counterpart on the other
side (nnlib's step activation, a Keras constraint or activity regularizer, a Keras layer
nnlib lacks) is refused with a ``ValueError`` or ``TypeError`` that names it.
"""
from __future__ import annotations

import functools

import numpy as np

import nnlib  # noqa: F401  (sets the quiet TensorFlow environment before the import below)
import keras
import tensorflow as tf

from nnlib import activations
from nnlib import layers as nn_layers
from nnlib import regularizers as nn_regularizers
from nnlib.model import Sequential

_KERAS_ACTIVATIONS = {"linear", "sigmoid", "tanh", "relu", "softmax", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus"}
# nnlib's parameterised activations: (class, attribute, Keras keyword, the Keras function's default)
_PARAMETERS = {
    "leaky_relu": ("negative_slope", "negative_slope", 0.2),
    "elu": ("alpha", "alpha", 1.0),
    "gelu": ("approximate", "approximate", False),
}


def seed_backend(seed: int) -> None:
    """Seed Keras (Python, NumPy and TensorFlow) and turn on TensorFlow op determinism."""
    from nnlib._validation import non_negative_int

    keras.utils.set_random_seed(non_negative_int(seed, "seed"))
    tf.config.experimental.enable_op_determinism()


def _keras_activation(activation, where: str):
    """Keras's equivalent of an nnlib activation: its name, or the Keras function with the
    parameters bound (``functools.partial``) when they differ from the function's defaults."""
    name = activation.name
    if name not in _KERAS_ACTIVATIONS or type(activation) is not type(activations.get(name)):
        raise ValueError(
            f"to_keras expected activations Keras has ({sorted(_KERAS_ACTIVATIONS)}). Received: {activation!r} in {where}"
        )
    if name in _PARAMETERS:
        attribute, keyword, default = _PARAMETERS[name]
        value = getattr(activation, attribute)
        if value != default:
            return functools.partial(getattr(keras.activations, name), **{keyword: value})
    return name


# --- convolution, pooling and Flatten (issue 12): one entry per layer class, both ways ---------

def _conv_to_keras(layer, dtype):
    return keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                               activation=_keras_activation(layer.activation, repr(layer)), use_bias=layer.use_bias, dtype=dtype,
                               kernel_regularizer=_keras_regularizer(layer.kernel_regularizer),
                               bias_regularizer=_keras_regularizer(layer.bias_regularizer))


def _refuse_channels_first(layer):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(
            f"from_keras expected data_format='channels_last' (nnlib's layout). Received: data_format={layer.data_format!r} "
            f"in layer {layer.name!r}"
        )


def _conv_from_keras(layer, dtype):
    where = f"layer {layer.name!r}"
    _refuse_channels_first(layer)
    _refuse_extras(layer, ("activity_regularizer", "kernel_constraint", "bias_constraint"))
    if tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
        raise ValueError(
            f"from_keras expected Conv2D with dilation_rate=(1, 1) and groups=1 (nnlib has neither). "
            f"Received: dilation_rate={tuple(layer.dilation_rate)}, groups={layer.groups} in {where}"
        )
    if not layer.built:
        raise ValueError(f"from_keras expected a built model (start it with keras.Input(shape=...)). Received: layer {layer.name!r} without weights")
    return nn_layers.Conv2D(layer.kernel.shape[2], layer.filters, tuple(layer.kernel_size), tuple(layer.strides), layer.padding,
                            _nnlib_activation(layer.activation, where), use_bias=layer.use_bias, kernel_initializer="zeros", dtype=dtype,
                            kernel_regularizer=_nnlib_regularizer(layer.kernel_regularizer, where),
                            bias_regularizer=_nnlib_regularizer(layer.bias_regularizer, where))


def _pool_from_keras(ours):
    def convert(layer, dtype):
        _refuse_channels_first(layer)
        return ours(tuple(layer.pool_size), tuple(layer.strides), layer.padding)
    return convert


def _global_from_keras(layer, dtype):
    _refuse_channels_first(layer)
    return nn_layers.GlobalAveragePooling2D(keepdims=bool(layer.keepdims))


def _flatten_from_keras(layer, dtype):
    _refuse_channels_first(layer)
    return nn_layers.Flatten()


# nnlib class -> (Keras layer from an nnlib one, Keras class, nnlib layer from a Keras one)
_SPATIAL = {
    nn_layers.Conv2D: (_conv_to_keras, keras.layers.Conv2D, _conv_from_keras),
    nn_layers.MaxPooling2D: (lambda layer, dtype: keras.layers.MaxPooling2D(layer.pool_size, strides=layer.strides, padding=layer.padding,
                                                                            dtype=dtype),
                             keras.layers.MaxPooling2D, _pool_from_keras(nn_layers.MaxPooling2D)),
    nn_layers.AveragePooling2D: (lambda layer, dtype: keras.layers.AveragePooling2D(layer.pool_size, strides=layer.strides,
                                                                                    padding=layer.padding, dtype=dtype),
                                 keras.layers.AveragePooling2D, _pool_from_keras(nn_layers.AveragePooling2D)),
    nn_layers.GlobalAveragePooling2D: (lambda layer, dtype: keras.layers.GlobalAveragePooling2D(keepdims=layer.keepdims, dtype=dtype),
                                       keras.layers.GlobalAveragePooling2D, _global_from_keras),
    nn_layers.Flatten: (lambda layer, dtype: keras.layers.Flatten(dtype=dtype), keras.layers.Flatten, _flatten_from_keras),
}
_SPATIAL_FROM_KERAS = {keras_class: from_keras for _, keras_class, from_keras in _SPATIAL.values()}


def _input_shape(model, input_shape):
    """The shape of ``keras.Input``: ``(in_features,)`` for a first Dense layer, else ``input_shape``."""
    first = model.layers[0]
    if input_shape is None:
        if isinstance(first, (nn_layers.SimpleRNN, nn_layers.LSTM, nn_layers.GRU)):
            return (None, first.in_features)  # (batch, time, features), any number of time steps
        if hasattr(first, "in_features"):
            return (first.in_features,)
        raise ValueError(
            f"to_keras expected the first layer to be Dense (it fixes the input width). Received: {first!r} "
            f"(pass input_shape=(height, width, channels) for a model that starts otherwise)"
        )
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if shape is None or not shape or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in shape):
        raise ValueError(f"to_keras expected input_shape a tuple of positive integers (no batch axis). Received: input_shape={input_shape!r}")
    if isinstance(first, nn_layers.Conv2D) and (len(shape) != 3 or shape[2] != first.in_channels):
        raise ValueError(
            f"to_keras expected input_shape=(height, width, {first.in_channels}) for a first {first!r}. Received: input_shape={input_shape!r}"
        )
    return tuple(int(n) for n in shape)



_RECURRENT = ("SimpleRNN", "LSTM", "GRU")


def _keras_recurrent(layer, dtype):
    """keras.layers.SimpleRNN/LSTM/GRU with the same activations, bias and return_sequences."""
    where = repr(layer)
    options = dict(activation=_keras_activation(layer.activation, where), use_bias=layer.use_bias,
                   return_sequences=layer.return_sequences, dtype=dtype)
    if not isinstance(layer, nn_layers.SimpleRNN):
        options["recurrent_activation"] = _keras_activation(layer.recurrent_activation, where)
    if isinstance(layer, nn_layers.LSTM):
        options["unit_forget_bias"] = layer.unit_forget_bias
    return getattr(keras.layers, type(layer).__name__)(layer.units, **options)


def _nnlib_recurrent(layer, dtype):
    """The nnlib layer computing what a built keras.layers.SimpleRNN/LSTM/GRU computes."""
    where = f"layer {layer.name!r}"
    _refuse_extras(layer, ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer",
                           "kernel_constraint", "recurrent_constraint", "bias_constraint"))
    for attribute in ("dropout", "recurrent_dropout"):
        if getattr(layer, attribute):
            raise ValueError(f"from_keras expected recurrent layers without {attribute} (nnlib has none). "
                             f"Received: {attribute}={getattr(layer, attribute)!r} in {where}")
    for attribute in ("return_state", "go_backwards", "stateful"):
        if getattr(layer, attribute):
            raise ValueError(f"from_keras expected {attribute}=False (nnlib has no such option). Received: {attribute}=True in {where}")
    if isinstance(layer, keras.layers.GRU) and not layer.reset_after:
        raise ValueError(f"from_keras expected GRU with reset_after=True (nnlib's GRU). Received: reset_after=False in {where}")
    options = dict(activation=_nnlib_activation(layer.activation, where), use_bias=layer.use_bias,
                   return_sequences=layer.return_sequences, kernel_initializer="zeros", recurrent_initializer="zeros",
                   dtype=dtype)
    if not isinstance(layer, keras.layers.SimpleRNN):
        options["recurrent_activation"] = _nnlib_activation(layer.recurrent_activation, where)
    if isinstance(layer, keras.layers.LSTM):
        options["unit_forget_bias"] = bool(layer.unit_forget_bias)
    kernel = layer.get_weights()[0]
    return getattr(nn_layers, type(layer).__name__)(kernel.shape[0], layer.units, **options)


def _keras_layer(layer, dtype):
    if type(layer) in _SPATIAL:
        return _SPATIAL[type(layer)][0](layer, dtype)
    if isinstance(layer, (nn_layers.SimpleRNN, nn_layers.LSTM, nn_layers.GRU)):
        return _keras_recurrent(layer, dtype)
    if isinstance(layer, nn_layers.Dense):
        return keras.layers.Dense(layer.units, activation=_keras_activation(layer.activation, repr(layer)), use_bias=layer.use_bias,
                                  dtype=dtype, kernel_regularizer=_keras_regularizer(layer.kernel_regularizer),
                                  bias_regularizer=_keras_regularizer(layer.bias_regularizer))
    if isinstance(layer, nn_layers.Activation):
        activation = layer.activation
        keras_activation = _keras_activation(activation, f"an Activation layer {layer!r}")
        # the dedicated Keras layers carry their parameter (and from_keras reads it back)
        if isinstance(activation, activations.LeakyReLU):
            return keras.layers.LeakyReLU(negative_slope=activation.negative_slope, dtype=dtype)
        if isinstance(activation, activations.ELU):
            return keras.layers.ELU(alpha=activation.alpha, dtype=dtype)
        return keras.layers.Activation(keras_activation, dtype=dtype)
    if isinstance(layer, nn_layers.Dropout):
        return keras.layers.Dropout(layer.rate, dtype=dtype)
    if isinstance(layer, nn_layers.BatchNormalization):
        return keras.layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, center=layer.center,
                                               scale=layer.scale, dtype=dtype)
    raise TypeError(
        f"to_keras expected Dense, Activation, Dropout or BatchNormalization layers. Received: {type(layer).__name__} "
        f"(Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D and Flatten cross too)"
    )


def _keras_regularizer(regularizer):
    """The Keras regularizer of the same class and factors (L1, L2 or L1L2)."""
    if regularizer is None:
        return None
    for ours, theirs in ((nn_regularizers.L1, keras.regularizers.L1), (nn_regularizers.L2, keras.regularizers.L2)):
        if type(regularizer) is ours:
            return theirs(**regularizer.get_config())
    return keras.regularizers.L1L2(**nn_regularizers.L1L2(**regularizer.get_config()).get_config())


def _nnlib_regularizer(regularizer, where: str):
    """The nnlib regularizer equal to a Keras L1, L2 or L1L2 (others are refused)."""
    if regularizer is None:
        return None
    for theirs, ours in ((keras.regularizers.L1, nn_regularizers.L1), (keras.regularizers.L2, nn_regularizers.L2),
                         (keras.regularizers.L1L2, nn_regularizers.L1L2)):
        if type(regularizer) is theirs:
            config = regularizer.get_config()
            return ours(**{key: float(config[key]) for key in ours._config})
    raise ValueError(f"from_keras expected L1, L2 or L1L2 regularizers. Received: {type(regularizer).__name__} in {where}")


def _nnlib_activation(function, where: str):
    """The nnlib activation computing what a Keras activation function computes."""
    keywords = {}
    if isinstance(function, functools.partial):
        if function.args:
            raise ValueError(f"from_keras expected activation parameters given by keyword. Received: {function!r} in {where}")
        function, keywords = function.func, dict(function.keywords)
    name = getattr(function, "__name__", None)
    if name not in _KERAS_ACTIVATIONS or function is not getattr(keras.activations, name, None):
        raise ValueError(
            f"from_keras expected activations nnlib has ({sorted(_KERAS_ACTIVATIONS)}). Received: {function!r} in {where}"
        )
    if name in _PARAMETERS and set(keywords) <= {_PARAMETERS[name][1]}:
        attribute, keyword, default = _PARAMETERS[name]
        return type(activations.get(name))(**{attribute: keywords.get(keyword, default)})
    if keywords:
        raise ValueError(f"from_keras expected {name} without parameters. Received: {keywords} in {where}")
    return activations.get(name)


def _refuse_extras(layer, attributes):
    for attribute in attributes:
        if getattr(layer, attribute, None) is not None:
            raise ValueError(
                f"from_keras expected layers without {attribute} (nnlib has none). "
                f"Received: {attribute}={getattr(layer, attribute)!r} in layer {layer.name!r}"
            )


def to_keras(model: Sequential, dtype: str = "float32", *, input_shape=None) -> keras.Model:
    """A ``keras.Sequential`` with the same layers and weights as ``model``.

    ``input_shape`` (no batch axis) is needed when the first layer is not Dense, e.g.
    ``(8, 8, 1)`` for a CNN that starts with ``Conv2D(1, ...)``; Conv2D, the pooling layers
    and Flatten become their Keras namesakes (channels-last).

    A model with :class:`~nnlib.layers.Residual` blocks becomes a functional ``keras.Model``
    instead: ``keras.Input``, the layers in order, and each block
    ``h = x; h = layer(h) ...; x = keras.layers.Add()([x, h])`` (nested blocks likewise).
    Its ``layers`` and ``trainable_weights`` are in nnlib's order (:meth:`~nnlib.model.Sequential.parameters`).

    ``dtype="float64"`` builds a float64 Keras model, for comparisons with float64 nnlib
    layers (the default) at tolerances near machine precision (chapter 06).

    Activations keep their parameters: an ``Activation`` layer with a Leaky ReLU or an ELU
    becomes ``keras.layers.LeakyReLU(negative_slope=...)`` or ``keras.layers.ELU(alpha=...)``,
    and a ``Dense`` activation (or GELU's ``approximate=True``) whose parameters differ from
    the Keras function's defaults becomes that function with them bound
    (``functools.partial(keras.activations.leaky_relu, negative_slope=0.05)``). Kernel and
    bias regularizers become Keras's of the same class and factors. A SimpleRNN, LSTM or GRU
    becomes Keras's namesake (same activations, ``use_bias``, ``return_sequences``); as the
    first layer it gives the model ``keras.Input(shape=(None, in_features))``.

    Raises
    ------
    TypeError, ValueError
        ``model`` is not an nnlib ``Sequential``, ``dtype`` is not float32/float64, the first
        layer is not Dense, or a layer or activation has no Keras counterpart (``"step"``).
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"to_keras expected an nnlib Sequential. Received: {type(model).__name__}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"to_keras expected dtype 'float32' or 'float64'. Received: dtype={dtype!r}")
    shape = _input_shape(model, input_shape)
    if any(isinstance(layer, nn_layers.Residual) for layer in model.layers):
        keras_model = _keras_functional(model, shape, dtype)
    else:
        keras_model = keras.Sequential(
            [keras.Input(shape=shape, dtype=dtype)] + [_keras_layer(layer, dtype) for layer in model.layers]
        )
    copy_weights(model, keras_model)
    return keras_model


# --- residual blocks: a Keras functional graph ------------------------------------------
# to_keras turns ``Residual(layers)`` into ``h = x; h = layer(h) ...; y = keras.layers.Add()([x, h])``;
# from_keras reads such graphs back by walking them from the output (_keras_sequence).


class _BlockStart:
    """Marker in the layer sequence of a functional model: a residual block begins."""


class _BlockEnd:
    """Marker in the layer sequence of a functional model: the block ends with an Add."""


def _keras_functional(model, shape, dtype):
    inputs = keras.Input(shape=shape, dtype=dtype)

    def apply(layers, tensor):
        for layer in layers:
            if isinstance(layer, nn_layers.Residual):
                tensor = keras.layers.Add(dtype=dtype)([tensor, apply(layer.layers, tensor)])
            else:
                tensor = _keras_layer(layer, dtype)(tensor)
        return tensor

    return keras.Model(inputs, apply(model.layers, inputs))


def _nnlib_leaves(layers):
    for layer in layers:
        if isinstance(layer, nn_layers.Residual):
            yield from _nnlib_leaves(layer.layers)
        else:
            yield layer


def _keras_sequence(keras_model):
    """A Keras model's layers in the order they compute, with _BlockStart/_BlockEnd around each
    residual block; a keras.Sequential's ``layers`` as they are."""
    if isinstance(keras_model, keras.Sequential) or len(keras_model.inputs) != 1 or len(keras_model.outputs) != 1:
        return list(keras_model.layers)
    start = keras_model.inputs[0]

    def producer(tensor):
        history = tensor._keras_history
        node = history.operation._inbound_nodes[history.node_index]
        return history.operation, list(node.input_tensors)

    def ancestors(tensor):
        seen, stack = set(), [tensor]
        while stack:
            current = stack.pop()
            if id(current) in seen or current is start:
                continue
            seen.add(id(current))
            stack.extend(producer(current)[1])
        return seen

    def between(tensor, stop):
        if tensor is stop:
            return []
        layer, tensors = producer(tensor)
        if isinstance(layer, keras.layers.Add) and len(tensors) == 2:
            first, second = tensors
            skip, branch = (first, second) if id(first) in ancestors(second) or first is start else (second, first)
            if skip is branch or not (id(skip) in ancestors(branch) or skip is start):
                raise ValueError(
                    f"from_keras expected Add layers of the form Add()([x, f(x)]) (a residual block). Received: layer {layer.name!r}"
                )
            return between(skip, stop) + [_BlockStart] + between(branch, skip) + [_BlockEnd]
        if len(tensors) != 1 or isinstance(layer, keras.layers.InputLayer):
            raise ValueError(
                f"from_keras expected a chain of one-input layers and residual Add blocks. Received: layer {layer.name!r} "
                f"with {len(tensors)} inputs"
            )
        return between(tensors[0], stop) + [layer]

    return between(keras_model.outputs[0], start)


def tape_gradients(keras_model, loss, x, y, *, include_penalties: bool = False) -> tuple[float, list[np.ndarray]]:
    """Loss and gradients of a Keras model on ``(x, y)`` by ``tf.GradientTape`` (chapters 06, 12).

    By default only the data loss is differentiated. With ``include_penalties=True`` the
    regularisation penalties in ``keras_model.losses`` are added, as ``fit`` does, which is
    what :meth:`nnlib.model.Sequential.compute_gradients` returns for a regularised model.

    ``loss`` is a Keras loss object or name (``"mse"``, ``"binary_crossentropy"``, ...); a name
    computes in the model's dtype, while a loss object computes in its own (float32 unless
    given ``dtype=``).
    Returns ``(loss_value, grads)`` with ``grads`` as NumPy arrays in the order of
    ``keras_model.trainable_weights`` (kernel, bias per Dense layer), the order of
    :meth:`nnlib.model.Sequential.parameters`.
    """
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"tape_gradients expected a Keras model. Received: {type(keras_model).__name__}")
    if isinstance(loss, str):
        # the function form computes in the inputs' dtype (a Loss object would cast to
        # float32); its per-sample values are averaged below, as the default reduction does
        loss = keras.losses.get(loss)
    elif not callable(loss):
        raise TypeError(f"tape_gradients expected a Keras loss or its name. Received: {loss!r}")
    if not isinstance(include_penalties, bool):
        raise TypeError(f"tape_gradients expected include_penalties to be True or False. Received: {include_penalties!r}")
    from nnlib._validation import data_array, same_length

    x, y = data_array(x, "x", min_ndim=1), data_array(y, "y", min_ndim=1)
    same_length(x, y, "tape_gradients")
    dtype = keras_model.trainable_weights[0].dtype if keras_model.trainable_weights else "float32"
    x = tf.convert_to_tensor(x, dtype=dtype)
    y = tf.convert_to_tensor(y, dtype=dtype)
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(loss(y, keras_model(x, training=True)))  # a no-op on a reduced loss
        if include_penalties and keras_model.losses:
            value = value + tf.cast(tf.add_n(keras_model.losses), value.dtype)
    grads = tape.gradient(value, keras_model.trainable_weights)
    return float(value), [np.asarray(grad) for grad in grads]


def layer_gradients(keras_layer, x, upstream) -> tuple[np.ndarray, list[np.ndarray]]:
    """A Keras layer's output on ``x`` and, by ``tf.GradientTape``, the gradients of
    ``sum(output * upstream)`` with respect to ``x`` and to each of its trainable weights:
    what an nnlib layer's ``forward(x)`` and ``backward(upstream)`` compute
    (``backward``'s return value and ``grads``, in the order of ``get_weights()``).

    Returns ``(output, [d_x, d_weight_1, ...])`` as NumPy arrays; ``upstream`` is cast to the
    output's dtype.
    """
    import tensorflow as tf

    if not isinstance(keras_layer, keras.layers.Layer):
        raise TypeError(f"layer_gradients expected a Keras layer. Received: {type(keras_layer).__name__}")
    x_tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tensor)
        out = keras_layer(x_tensor)
        loss = tf.reduce_sum(out * tf.constant(upstream, dtype=out.dtype))
    grads = tape.gradient(loss, [x_tensor, *keras_layer.trainable_weights])
    return out.numpy(), [g.numpy() for g in grads]


def from_keras(keras_model, dtype: str = "float64") -> Sequential:
    """An nnlib ``Sequential`` with the same layers, activations, regularizers and weights as ``keras_model``.

    Dense, Activation, LeakyReLU, ELU, Dropout, BatchNormalization, Conv2D, MaxPooling2D,
    AveragePooling2D, GlobalAveragePooling2D, Flatten, SimpleRNN, LSTM and GRU layers cross
    (the recurrent ones without dropout, regularizers, constraints, ``return_state``,
    ``go_backwards`` or ``stateful``; GRU with ``reset_after=True``), with an
    activation's parameters (a ``functools.partial`` of a Keras activation function, or the
    ``LeakyReLU``/``ELU`` layers' own) and Dense's kernel and bias regularizers (L1, L2,
    L1L2).

    A functional ``keras.Model`` is read by walking its graph from the output: a chain of
    one-input layers, where ``keras.layers.Add()([x, f(x)])`` (``x`` an earlier tensor of the
    chain, ``f`` a chain of layers from it) becomes ``Residual(f)``, nested or not; this is
    what :func:`to_keras` builds from a model with residual blocks. Other graphs (several
    inputs or outputs, branches joined otherwise, a Concatenate) are out of scope and refused.

    Raises
    ------
    TypeError, ValueError
        Not a Keras model, an unbuilt one, a layer nnlib does not have, or something nnlib
        cannot carry (a custom activation, an activity regularizer, a constraint, a
        BatchNormalization over another axis, a Dropout ``noise_shape``, another regularizer).
    """
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"from_keras expected a Keras model. Received: {type(keras_model).__name__}")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"from_keras expected dtype 'float32' or 'float64'. Received: dtype={dtype!r}")
    built, width, blocks = [], None, []
    for layer in _keras_sequence(keras_model):
        if layer is _BlockStart:
            blocks.append(built)
            built = []
        elif layer is _BlockEnd:
            if not built:
                raise ValueError("from_keras expected layers inside each residual block. Received: Add()([x, x])")
            block, built = nn_layers.Residual(built), blocks.pop()
            built.append(block)
        elif type(layer) in _SPATIAL_FROM_KERAS:  # Conv2D, pooling, Flatten
            built.append(_SPATIAL_FROM_KERAS[type(layer)](layer, dtype))
            width = getattr(built[-1], "filters", width)
        elif type(layer).__name__ in _RECURRENT and type(layer) is getattr(keras.layers, type(layer).__name__):
            if not layer.built:
                raise ValueError(
                    f"from_keras expected a built model (start it with keras.Input(shape=...)). "
                    f"Received: layer {layer.name!r} without weights"
                )
            built.append(_nnlib_recurrent(layer, dtype))
            width = layer.units
        elif isinstance(layer, keras.layers.Dense):
            if not layer.built:
                raise ValueError(
                    f"from_keras expected a built model (start it with keras.Input(shape=...)). "
                    f"Received: layer {layer.name!r} without weights"
                )
            where = f"layer {layer.name!r}"
            _refuse_extras(layer, ("activity_regularizer", "kernel_constraint", "bias_constraint"))
            kernel = layer.get_weights()[0]
            width = kernel.shape[1]
            built.append(
                nn_layers.Dense(kernel.shape[0], layer.units, activation=_nnlib_activation(layer.activation, where),
                                use_bias=layer.use_bias, kernel_initializer="zeros", dtype=dtype,
                                kernel_regularizer=_nnlib_regularizer(layer.kernel_regularizer, where),
                                bias_regularizer=_nnlib_regularizer(layer.bias_regularizer, where))
            )
        elif isinstance(layer, keras.layers.LeakyReLU):
            built.append(nn_layers.Activation(activations.LeakyReLU(float(layer.negative_slope))))
        elif isinstance(layer, keras.layers.ELU):
            built.append(nn_layers.Activation(activations.ELU(float(layer.alpha))))
        elif isinstance(layer, keras.layers.Activation):
            built.append(nn_layers.Activation(_nnlib_activation(layer.activation, f"layer {layer.name!r}")))
        elif isinstance(layer, keras.layers.Dropout):
            _refuse_extras(layer, ("noise_shape",))
            built.append(nn_layers.Dropout(layer.rate))
        elif isinstance(layer, keras.layers.BatchNormalization):
            _refuse_extras(layer, ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"))
            rank = len(layer._build_shapes_dict["input_shape"]) if getattr(layer, "_build_shapes_dict", None) else None
            if layer.axis != -1 and (rank is None or layer.axis != rank - 1):
                raise ValueError(
                    f"from_keras expected BatchNormalization over the last axis (nnlib's). Received: axis={layer.axis} in layer {layer.name!r}"
                )
            built.append(nn_layers.BatchNormalization(layer.moving_mean.shape[0], momentum=layer.momentum, epsilon=layer.epsilon,
                                                      center=layer.center, scale=layer.scale, dtype=dtype))
        elif isinstance(layer, keras.layers.InputLayer):
            continue
        else:
            raise TypeError(
                f"from_keras expected Dense, Activation, LeakyReLU, ELU, Dropout or BatchNormalization layers. "
                f"Received: {type(layer).__name__} (Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D and Flatten cross too)"
            )
    if width is None:
        raise ValueError(f"from_keras expected at least one Dense layer. Received: {[type(layer).__name__ for layer in keras_model.layers]} (or a Conv2D)")
    model = Sequential(built)
    copy_weights(keras_model, model)
    return model


def _weighted(model):
    layers = _nnlib_leaves(model.layers) if isinstance(model, Sequential) else \
        [layer for layer in _keras_sequence(model) if layer not in (_BlockStart, _BlockEnd)]
    return [layer for layer in layers if layer.get_weights()]


def copy_weights(source, target) -> None:
    """Copy every layer's weights from ``source`` to ``target`` (nnlib or Keras, either way).

    Layers with weights are matched in order; their shapes must agree.
    """
    for name, model in (("source", source), ("target", target)):
        if not isinstance(model, (Sequential, keras.Model)):
            raise TypeError(f"copy_weights expected nnlib Sequential or Keras models. Received: {name} of type {type(model).__name__}")
    source_layers, target_layers = _weighted(source), _weighted(target)
    if len(source_layers) != len(target_layers):
        raise ValueError(
            f"copy_weights expected the same number of layers with weights. "
            f"Received: {len(source_layers)} in source, {len(target_layers)} in target"
        )
    for source_layer, target_layer in zip(source_layers, target_layers):
        weights = source_layer.get_weights()
        expected = [np.shape(w) for w in target_layer.get_weights()]
        received = [np.shape(w) for w in weights]
        if expected != received:
            raise ValueError(f"copy_weights expected shapes {expected} for layer {target_layer.name!r}. Received: {received}")
        target_layer.set_weights([np.asarray(w) for w in weights])


def restart_training(keras_model, weights) -> None:
    """Put a compiled Keras model back to the start of training: ``weights`` and a fresh optimizer state.

    Sets the model's weights to ``weights`` (a list in ``keras_model.weights`` order, as
    ``get_weights`` returns) and every optimizer variable except the learning rate to the
    value it has in a newly built optimizer of the same class and configuration: the step
    count and Adam's moments go back to 0, Adagrad's accumulators to
    ``initial_accumulator_value``, Nadam's running momentum product to 1. The next ``fit``
    then trains exactly as a newly built and compiled model with these initial weights would,
    but reuses the compiled train function, which saves rebuilding and retracing the model for
    every run of an experiment (chapters 33, 36 and 37).

    Keras has no public call for this. The learning rate (a variable unless it is a schedule)
    is recognised by its variable path and kept as it is. A model that has not been compiled
    is refused, since it has no optimizer.
    """
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"restart_training expected a Keras model. Received: {type(keras_model).__name__}")
    optimizer = getattr(keras_model, "optimizer", None)
    if optimizer is None:
        raise ValueError("restart_training expected a compiled model (it resets the optimizer). Received: a model without an optimizer")
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"restart_training expected weights as a list of arrays (get_weights()). Received: {type(weights).__name__}")
    expected = [tuple(w.shape) for w in keras_model.weights]
    received = [np.shape(w) for w in weights]
    if expected != received:
        raise ValueError(f"restart_training expected weights of shapes {expected}. Received: {received}")
    keras_model.set_weights([np.asarray(w) for w in weights])
    fresh = type(optimizer).from_config(optimizer.get_config())
    if optimizer.built:   # the slots exist once the optimizer has taken a step (or been built)
        fresh.build(keras_model.trainable_variables)
    for variable, initial in zip(optimizer.variables, fresh.variables, strict=True):
        if "learning_rate" not in variable.path:
            variable.assign(initial)


def layer_outputs_model(keras_model) -> keras.Model:
    """A ``keras.Model`` with the same input that returns every layer's output (chapter 05)."""
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"layer_outputs_model expected a Keras model. Received: {type(keras_model).__name__}")
    try:
        model_inputs = keras_model.inputs
    except AttributeError:  # an unbuilt keras.Sequential has no inputs attribute yet
        model_inputs = None
    if not model_inputs:
        raise ValueError("layer_outputs_model expected a built model with a keras.Input. Received: a model without inputs")
    inputs = model_inputs[0] if len(model_inputs) == 1 else model_inputs
    return keras.Model(inputs=inputs, outputs=[layer.output for layer in keras_model.layers])
