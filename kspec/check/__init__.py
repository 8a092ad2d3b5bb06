"""Spec IR -> Checked: evaluation of constants and loops, shape inference per step, data and train
sections.

Reads the syntax package and the catalog; never imports TensorFlow, Keras or a backend.
"""
