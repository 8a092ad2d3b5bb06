"""Checked graph -> keras.Model: the only builder of Keras models.

Reads kspec.check's result and the catalog; re-evaluates nothing. Imported by run/ and the API,
never by check/, codegen/, report/ or interop/.
"""
