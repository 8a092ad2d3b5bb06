"""The training runtime: data pipeline, sources, files, training, callbacks, the run folder,
inference and plots.

Builds models through kspec.keras; the code generator never imports this package.
"""
