"""Core layers: Dense, EinsumDense, Identity and Masking."""

from __future__ import annotations

import re
from typing import Any

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    boolean,
    integer,
    number,
    optional,
    param,
    register,
    string,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import dims, expect_min_rank, product, show


@register
@entry
class Dense(LayerSpec):
    """Fully connected layer on the last axis."""

    keras_class = "keras.layers.Dense"
    positional = ("units", "activation", "use_bias")
    examples = (
        ({"units": 10}, (64,)),
        ({"units": 3, "use_bias": False}, (5, 7)),
        ({"units": 1, "activation": "sigmoid"}, (None, 4)),
        ({"units": 16, "activation": "relu"}, (2, 3, 8)),
    )

    units: int = param(convert=integer, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        expect_min_rank(x, 1, "Dense")
        if x[-1] is None:
            raise ShapeError(f"Dense needs a known last axis, got {show(x)}")
        return (*x[:-1], self.units)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        assert x[-1] is not None
        return Params(x[-1] * self.units + (self.units if self.use_bias else 0))


# Keras's three equation forms (keras/src/layers/core/einsum_dense.py, _analyze_einsum_string):
# no ellipsis, ellipsis on the left ("...b,bc->...c"), ellipsis on the right ("ab...,bc->ac...").
_EINSUM_FORMS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), ""),
    (re.compile(r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)"), "left"),
    (re.compile(r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\."), "right"),
)


def split_equation(equation: str) -> tuple[str, str, str, str]:
    """(input, kernel, output, ellipsis side) of an EinsumDense equation; side is "" without one."""
    for pattern, side in _EINSUM_FORMS:
        match = pattern.fullmatch(equation)
        if match:
            return match[1], match[2], match[3], side
    raise ParamError(
        f"invalid einsum equation '{equation}'",
        arg="equation",
        help="use the form 'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'",
    )


@register
@entry
class EinsumDense(LayerSpec):
    """Dense layer whose kernel and contraction are given by an einsum equation."""

    keras_class = "keras.layers.EinsumDense"
    positional = ("equation", "output_shape")
    examples = (
        ({"equation": "ab,bc->ac", "output_shape": 64, "bias_axes": "c"}, (32,)),
        ({"equation": "abc,cd->abd", "output_shape": (None, 16), "bias_axes": "d"}, (10, 8)),
        ({"equation": "abc,cde->abde", "output_shape": (None, 4, 8), "bias_axes": "de"}, (5, 32)),
        ({"equation": "abc,cde->abde", "output_shape": (7, 2, 3), "bias_axes": "e"}, (7, 6)),
        ({"equation": "...b,bc->...c", "output_shape": 16, "activation": "relu"}, (5, 7, 3)),
        ({"equation": "ab...,bc->ac...", "output_shape": 6, "bias_axes": "c"}, (3, 4, 5)),
        ({"equation": "abcd,cde->abe", "output_shape": (None, 12)}, (None, 4, 3)),
        ({"equation": "ab,bc->ac", "output_shape": 10, "lora_rank": 2}, (20,)),
    )

    equation: str = param(convert=string)
    output_shape: tuple[int | None, ...] = param(convert=dims, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    bias_axes: str | None = param(None, convert=optional(string))
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    lora_rank: int | None = param(None, convert=optional(integer), minimum=0)
    lora_alpha: float | None = param(None, convert=optional(number))

    def validate(self) -> None:
        inputs, kernel, outputs, side = split_equation(self.equation)
        eq = self.equation
        for a in outputs:
            if a not in inputs and a not in kernel:
                raise ParamError(
                    f"output axis '{a}' of '{eq}' is in neither the input nor the kernel",
                    arg="equation",
                )
        for a in kernel:
            if a not in inputs and a not in outputs:
                raise ParamError(
                    f"kernel axis '{a}' of '{eq}' is in neither the input nor the output",
                    arg="equation",
                )
        for a in self.bias_axes or "":
            if a not in outputs:
                raise ParamError(
                    f"bias axis '{a}' is not an output axis of '{eq}'", arg="bias_axes"
                )
        # Without a left ellipsis the batch axis is the output's first letter, not in output_shape.
        want = len(outputs) - (side != "left")
        if len(self.output_shape) not in (want, want - (side == "left")):
            raise ParamError(
                f"output_shape has {len(self.output_shape)} entries, '{eq}' needs {want}",
                arg="output_shape",
                help="output_shape leaves out the batch axis and the axes '...' stands for",
            )
        if self.lora_rank and self.kernel_constraint is not None:
            raise ParamError(
                "lora_rank cannot be combined with a kernel_constraint", arg="lora_rank"
            )

    def _analyze(self, x: Shape) -> tuple[Shape, Shape, Shape | None]:
        """Keras's _analyze_split_string: (output shape with batch, kernel shape, bias shape)."""
        inputs, kernel, outputs, side = split_equation(self.equation)
        eq, full = self.equation, (None, *x)
        elided = len(full) - len(inputs)
        if elided < 0 or (elided and not side):
            rank = f"{len(inputs)}-D" + (" or higher" if side else "")
            raise ShapeError(f"EinsumDense '{eq}' expects a {rank} input, got {show(x)}")
        out: list[int | None] = [None, *self.output_shape]
        if side == "left":
            for i in range(1, elided):  # Keras inserts each at 1: these axes come out reversed
                out.insert(1, full[i])
        elif side == "right":
            out.extend(full[len(full) - elided :])
        if len(out) != len(outputs) + elided:
            need = len(outputs) + elided - len(out) + len(self.output_shape)
            raise ShapeError(
                f"EinsumDense '{eq}' on {show(x)} needs {need} output_shape "
                f"entries, got {len(self.output_shape)}"
            )
        shift = elided if side == "left" else 0
        in_at = {a: i + shift for i, a in enumerate(inputs)}
        out_at = {a: i + shift for i, a in enumerate(outputs)}
        for a in inputs:
            size, given = full[in_at[a]], out[out_at[a]] if a in out_at else None
            if given is not None and given != size:
                raise ShapeError(
                    f"EinsumDense output_shape gives axis '{a}' of '{eq}' size "
                    f"{given}, but the input {show(x)} has {size} there"
                )
        kernel_shape = tuple(out[out_at[a]] if a in out_at else full[in_at[a]] for a in kernel)
        for a, size in zip(kernel, kernel_shape, strict=True):
            if size is None:
                raise ShapeError(
                    f"EinsumDense needs the size of kernel axis '{a}' of '{eq}', unknown for "
                    f"input {show(x)}",
                    help="give that axis a fixed size in the input or in output_shape",
                )
        bias_shape = None
        if self.bias_axes is not None:
            first = min(outputs.find(a) for a in self.bias_axes)
            bias_shape = tuple(
                out[i + shift] if a in self.bias_axes else 1
                for i, a in enumerate(outputs)
                if i >= first
            )
            if None in bias_shape:
                raise ShapeError(
                    f"EinsumDense needs known sizes on bias axes '{self.bias_axes}', "
                    f"got output {show(tuple(out[1:]))}"
                )
        return tuple(out), kernel_shape, bias_shape

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return self._analyze(x)[0][1:]

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        _, kernel_shape, bias_shape = self._analyze(x)
        kernel = product(kernel_shape) or 0
        bias = 0 if bias_shape is None else product(bias_shape) or 0
        if not self.lora_rank:
            return Params(kernel + bias)
        rank = self.lora_rank
        lora = (product(kernel_shape[:-1]) or 0) * rank + rank * (kernel_shape[-1] or 0)
        return Params(lora + bias, kernel)  # LoRA adds factors A and B and freezes the kernel


@register
@entry
class Identity(LayerSpec):
    """Returns its input unchanged: a named point in the graph (`output y = x -> Identity()`)."""

    keras_class = "keras.layers.Identity"
    examples = (({}, (10,)), ({}, (None, 4, 3)), ({}, ()))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class Masking(LayerSpec):
    """Marks the timesteps whose features all equal mask_value; layers after it skip them.

    Keras carries the mask to the next layers itself (LSTM, GRU, attention, pooling take it).
    """

    keras_class = "keras.layers.Masking"
    positional = ("mask_value",)
    examples = (({}, (7, 3)), ({"mask_value": -1.0}, (None, 5)), ({"mask_value": 2}, (4, 6, 2)))

    mask_value: float = param(0.0, convert=number)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x
