"""Text <-> IR: the grammar's parser, syntax errors, the layout engine, the printer and `kspec
fmt`.

Imports only kspec.source, kspec.diagnostics, kspec.codes and kspec.resources; never the
checker, a backend or Keras.
"""
