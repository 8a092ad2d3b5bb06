"""Checked graph -> a standalone Keras script (`kspec codegen`).

Reads kspec.check's result and settings; never imports run/, TensorFlow or Keras.
"""
