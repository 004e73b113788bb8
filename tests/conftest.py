"""Shared test settings: nnlib is imported first so TensorFlow starts quietly."""
import nnlib  # noqa: F401
