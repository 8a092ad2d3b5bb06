"""Other formats <-> specs: Keras model configs in (`kspec import`), specs out (emit, spelling),
the JSON IR.

Reads the catalog and the syntax package; never imports TensorFlow, Keras, the checker's
backends or run/.
"""
