"""Keras 3 layer of lrstats: the only package that imports TensorFlow."""
