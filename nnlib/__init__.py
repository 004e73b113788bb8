"""nnlib: the small NumPy neural-network library of *Neural Networks in Fifty Questions*.

Importing nnlib sets quiet defaults for TensorFlow and progress bars (unless the variables
are already set), so a notebook that imports ``nnlib`` before ``keras``/``tensorflow``
renders without start-up log lines:

- ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0``: together they silence
  TensorFlow 2.21's start-up messages. Level 2 would be enough for those, but with it
  ``model.evaluate`` prints a harmless error-level line from tf.data ("NodeDef mentions
  attribute use_unbounded_threadpool"); level 3 hides C++ log lines only, and Python
  exceptions are still raised;
- ``TQDM_DISABLE=1`` (lime and shap show tqdm bars otherwise).

No module of nnlib imports TensorFlow or Keras except :mod:`nnlib.keras_bridge`.
"""
import os as _os

for _name, _value in (
    ("TF_CPP_MIN_LOG_LEVEL", "3"),
    ("TF_ENABLE_ONEDNN_OPTS", "0"),
    ("TQDM_DISABLE", "1"),
    ("KERAS_BACKEND", "tensorflow"),
):
    _os.environ.setdefault(_name, _value)

from nnlib import (  # noqa: E402  (the environment must be set first)
    activations,
    attention,
    autodiff,
    callbacks,
    clipping,
    data,
    datasets,
    explain,
    gradcheck,
    initializers,
    layers,
    losses,
    objectives,
    optimizers,
    perceptron,
    plotting,
    preprocessing,
    regularizers,
    schedules,
    som,
    timing,
)
from nnlib.model import History, Sequential  # noqa: E402
from nnlib.seeding import default_rng, seed_everything  # noqa: E402
from nnlib.som import SelfOrganizingMap  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "History",
    "SelfOrganizingMap",
    "Sequential",
    "activations",
    "attention",
    "autodiff",
    "callbacks",
    "clipping",
    "data",
    "datasets",
    "default_rng",
    "explain",
    "gradcheck",
    "initializers",
    "layers",
    "losses",
    "objectives",
    "optimizers",
    "perceptron",
    "plotting",
    "preprocessing",
    "regularizers",
    "schedules",
    "som",
    "timing",
    "seed_everything",
]
