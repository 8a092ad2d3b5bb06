"""What a checked spec looks like to a reader: the summary table, the graph drawing, the layer
reference.

Reads the checked graph (kspec.check) and the catalog; never imports TensorFlow or Keras.
"""
