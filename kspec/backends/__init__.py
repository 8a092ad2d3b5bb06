"""Backends read the checked Graph and the catalog: keras_build (the only Keras importer), codegen."""
