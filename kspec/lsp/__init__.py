"""Editor support: the `kspec lsp` language server (pygls), built on the checker and the catalog.

Imports the syntax, catalog, check and report packages; never TensorFlow, Keras or a backend,
so the server starts in well under a second and checks as fast as `kspec check`.
"""
