"""Backends read the checked Graph and the catalog; keras_build is the only Keras importer."""
