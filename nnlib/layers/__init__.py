"""Layers: each ``forward(x, training=False)`` caches what its ``backward(dout)`` needs.

``backward`` fills ``layer.grads`` (same keys as ``layer.params``) and returns the gradient
with respect to the layer's input; optimizers update the parameters separately.
"""
from nnlib.layers.activation import Activation
from nnlib.layers.base import Layer
from nnlib.layers.dense import Dense
from nnlib.layers.dropout import Dropout
from nnlib.layers.normalization import BatchNormalization
from nnlib.layers.recurrent import GRU, LSTM, SimpleRNN

__all__ = ["Activation", "BatchNormalization", "Dense", "Dropout", "GRU", "LSTM", "Layer", "SimpleRNN"]
