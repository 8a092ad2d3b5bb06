"""An operation node as the expression that makes it (shared by flat and structured code)."""

from __future__ import annotations

from kspec.catalog.opbase import OpSpec
from kspec.codegen.pyliteral import py_literal


def op_expression(spec: OpSpec, tensors: list[str]) -> str:
    """The expression the spec wrote: `x + 3` for an operator, else `keras.ops.sum(x, ...)`.

    Either makes the same Operation node; keras.ops functions take no name, so the script's
    operations get Keras's automatic names.
    """
    scalars = dict(spec.scalars)
    rest = iter(tensors)
    if spec.list_operand:
        operands = ["[" + ", ".join(tensors) + "]"]
    else:
        count = len(tensors) + len(scalars)
        operands = [py_literal(scalars[i]) if i in scalars else next(rest) for i in range(count)]
    if spec.written_as_operator and spec.operator is not None:
        if len(operands) == 1:
            return f"-{operands[0]}"
        return f"{operands[0]} {spec.operator} {operands[1]}"
    kwargs = spec.keras_kwargs()
    head = [py_literal(kwargs.pop("subscripts"))] if "subscripts" in kwargs else []
    keywords = [f"{k}={py_literal(v)}" for k, v in kwargs.items()]
    return f"keras.ops.{spec.function}({', '.join([*head, *operands, *keywords])})"
