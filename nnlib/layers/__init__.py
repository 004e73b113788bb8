"""Layers: each ``forward(x, training=False)`` caches what its ``backward(dout)`` needs.

``backward`` fills ``layer.grads`` (same keys as ``layer.params``) and returns the gradient
with respect to the layer's input; optimizers update the parameters separately.
"""
from nnlib.layers.activation import Activation
from nnlib.layers.base import Layer
from nnlib.layers.conv import Conv2D
from nnlib.layers.dense import Dense
from nnlib.layers.dropout import Dropout
from nnlib.layers.normalization import BatchNormalization
from nnlib.layers.pooling import AveragePooling2D, Flatten, GlobalAveragePooling2D, MaxPooling2D
from nnlib.layers.recurrent import GRU, LSTM, SimpleRNN
from nnlib.layers.residual import Residual

__all__ = ["Activation", "AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten", "GRU",
           "GlobalAveragePooling2D", "LSTM", "Layer", "MaxPooling2D", "Residual", "SimpleRNN"]
