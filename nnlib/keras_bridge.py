"""Copy weights between nnlib and Keras models, and seed Keras/TensorFlow.

The only nnlib module that imports Keras or TensorFlow. nnlib stores weights in Keras's
layouts (a Dense kernel is ``(in, units)``), so copying needs no transposes: the cross-checks
in every chapter rest on these functions.
"""
from __future__ import annotations

import numpy as np

import nnlib  # noqa: F401  (sets the quiet TensorFlow environment before the import below)
import keras
import tensorflow as tf

from nnlib import layers as nn_layers
from nnlib.model import Sequential

_KERAS_ACTIVATIONS = {"linear", "sigmoid", "tanh", "relu", "softmax"}


def seed_backend(seed: int) -> None:
    """Seed Keras (Python, NumPy and TensorFlow) and turn on TensorFlow op determinism."""
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def _keras_layer(layer):
    if isinstance(layer, nn_layers.Dense):
        if layer.activation.name not in _KERAS_ACTIVATIONS:
            raise ValueError(
                f"to_keras expected activations Keras has ({sorted(_KERAS_ACTIVATIONS)}). "
                f"Received: {layer.activation.name!r} in {layer!r}"
            )
        return keras.layers.Dense(layer.units, activation=layer.activation.name, use_bias=layer.use_bias)
    if isinstance(layer, nn_layers.Activation):
        return keras.layers.Activation(layer.activation.name)
    raise TypeError(f"to_keras expected Dense or Activation layers. Received: {type(layer).__name__}")


def to_keras(model: Sequential) -> keras.Sequential:
    """A ``keras.Sequential`` with the same layers and (float32) weights as ``model``."""
    if not isinstance(model, Sequential):
        raise TypeError(f"to_keras expected an nnlib Sequential. Received: {type(model).__name__}")
    first = model.layers[0]
    if not hasattr(first, "in_features"):
        raise ValueError(f"to_keras expected the first layer to be Dense (it fixes the input width). Received: {first!r}")
    keras_model = keras.Sequential([keras.Input(shape=(first.in_features,))] + [_keras_layer(layer) for layer in model.layers])
    copy_weights(model, keras_model)
    return keras_model


def from_keras(keras_model, dtype: str = "float64") -> Sequential:
    """An nnlib ``Sequential`` with the same Dense/Activation layers and weights as ``keras_model``."""
    if not isinstance(keras_model, keras.Model):
        raise TypeError(f"from_keras expected a Keras model. Received: {type(keras_model).__name__}")
    built, width = [], None
    for layer in keras_model.layers:
        if isinstance(layer, keras.layers.Dense):
            if not layer.built:
                raise ValueError(
                    f"from_keras expected a built model (start it with keras.Input(shape=...)). "
                    f"Received: layer {layer.name!r} without weights"
                )
            kernel = layer.get_weights()[0]
            width = kernel.shape[1]
            built.append(
                nn_layers.Dense(kernel.shape[0], layer.units, activation=layer.activation.__name__,
                                use_bias=layer.use_bias, kernel_initializer="zeros", dtype=dtype)
            )
        elif isinstance(layer, keras.layers.Activation):
            built.append(nn_layers.Activation(layer.activation.__name__))
        elif isinstance(layer, keras.layers.InputLayer):
            continue
        else:
            raise TypeError(f"from_keras expected Dense or Activation layers. Received: {type(layer).__name__}")
    if width is None:
        raise ValueError(f"from_keras expected at least one Dense layer. Received: {[type(layer).__name__ for layer in keras_model.layers]}")
    model = Sequential(built)
    copy_weights(keras_model, model)
    return model


def _weighted(layers):
    return [layer for layer in layers if layer.get_weights()]


def copy_weights(source, target) -> None:
    """Copy every layer's weights from ``source`` to ``target`` (nnlib or Keras, either way).

    Layers with weights are matched in order; their shapes must agree.
    """
    for name, model in (("source", source), ("target", target)):
        if not isinstance(model, (Sequential, keras.Model)):
            raise TypeError(f"copy_weights expected nnlib Sequential or Keras models. Received: {name} of type {type(model).__name__}")
    source_layers, target_layers = _weighted(source.layers), _weighted(target.layers)
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
