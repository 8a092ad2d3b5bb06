"""Wrappers: Bidirectional runs a recurrent layer both ways, TimeDistributed maps one over time,
SpectralNormalization normalizes a kernel, Pipeline chains layers."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    GenericLayer,
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    describe,
    integer,
    optional,
    param,
    register,
    to_layer,
    to_layers,
)
from kspec.catalog.conv import BaseConv, BaseDepthwiseConv, Conv2D, DepthwiseConv2D
from kspec.catalog.conv_transpose import BaseConvTranspose, Conv2DTranspose
from kspec.catalog.core import Dense
from kspec.catalog.embedding import Embedding, ReversibleEmbedding
from kspec.catalog.record import entry
from kspec.catalog.recurrent import _ALL, _SEQ, GRU, LSTM, SimpleRNN, _fits, _Recurrent
from kspec.catalog.shapes import known_channels, show


def _merge_last(a: Shape, b: Shape) -> Shape:
    last = None if a[-1] is None or b[-1] is None else a[-1] + b[-1]
    return (*a[:-1], last)


def _check_recurrent(layer: LayerSpec, arg: str) -> None:
    if not isinstance(layer, _Recurrent | GenericLayer):
        raise ParamError(
            f"Bidirectional wraps a recurrent layer such as LSTM(64), got {describe(layer)}",
            arg=arg,
        )


@register
@entry
class Bidirectional(LayerSpec):
    """Runs a recurrent layer forwards and backwards over the sequence and merges the outputs."""

    keras_class = "keras.layers.Bidirectional"
    positional = ("layer", "merge_mode")
    family: ClassVar[str] = "recurrent"
    call_tensors = ("initial_state", "mask")
    examples = (
        ({"layer": LSTM.create((64,))}, (10, 16)),
        ({"layer": GRU.create((8,), _SEQ), "merge_mode": "sum"}, (None, 4)),
        ({"layer": SimpleRNN.create((6,), _SEQ), "merge_mode": "mul"}, (5, 3)),
        ({"layer": LSTM.create((4,), _SEQ), "merge_mode": "ave"}, (7, 2)),
        ({"layer": GRU.create((5,), {"reset_after": False}), "merge_mode": None}, (6, 3)),
        ({"layer": LSTM.create((4,), {"return_state": True})}, (9, 5)),
        ({"layer": GRU.create((3,), _ALL), "merge_mode": None}, (4, 2)),
        (
            {
                "layer": LSTM.create((6,), _SEQ),
                "backward_layer": LSTM.create((6,), {**_SEQ, "go_backwards": True}),
            },
            (8, 3),
        ),
    )

    layer: LayerSpec = param(convert=to_layer)
    merge_mode: str | None = param("concat", choices=("sum", "mul", "ave", "concat"))
    backward_layer: LayerSpec | None = param(None, convert=optional(to_layer))

    @property
    def statically_checked(self) -> bool:  # type: ignore[override]
        back = self.backward_layer or self.layer
        return self.layer.statically_checked and back.statically_checked

    def validate(self) -> None:
        _check_recurrent(self.layer, "layer")
        back = self.backward_layer
        if back is not None:
            _check_recurrent(back, "backward_layer")
        if not isinstance(self.layer, _Recurrent) or not isinstance(back, _Recurrent):
            return
        if back.go_backwards == self.layer.go_backwards:
            raise ParamError(
                "backward_layer must have the opposite go_backwards of layer",
                arg="backward_layer",
                help="set go_backwards=true on it",
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(back, attr) != getattr(self.layer, attr):
                raise ParamError(
                    f"backward_layer must have the same {attr} as layer", arg="backward_layer"
                )
        if back.size() != self.layer.size() and self.merge_mode != "concat":
            raise ParamError(
                f"merge_mode '{self.merge_mode}' needs layer and backward_layer of "
                f"the same size, got {self.layer.size()} and {back.size()}",
                arg="backward_layer",
            )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        back = self.backward_layer or self.layer
        if not isinstance(self.layer, _Recurrent) or not isinstance(back, _Recurrent):
            return None  # a layer without a catalog entry: shapes unknown
        initial = tensors.get("initial_state")
        halves: tuple[Any, Any] = (None, None)
        if initial is not None:
            states = [initial] if isinstance(initial, tuple) else list(initial)
            if len(states) % 2:
                raise ShapeError(
                    f"Bidirectional initial_state must list the forward states then "
                    f"the backward states, got {len(states)} tensors"
                )
            halves = (states[: len(states) // 2], states[len(states) // 2 :])
        mask = {"mask": tensors["mask"]} if tensors.get("mask") is not None else {}
        forward = self.layer.compute_output_shape(x, initial_state=halves[0], **mask)
        backward = back.compute_output_shape(x, initial_state=halves[1], **mask)
        fwd_states: list[Shape] = []
        bwd_states: list[Shape] = []
        if self.layer.return_state:
            forward, *fwd_states = forward
            backward, *bwd_states = backward
        if self.merge_mode is None:
            outputs = [forward, backward]
        elif self.merge_mode == "concat":
            outputs = [_merge_last(forward, backward)]
        else:
            outputs = [forward]
        if not self.layer.return_state and len(outputs) == 1:
            return outputs[0]
        return [*outputs, *fwd_states, *bwd_states]

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return self.layer.count_params(x) + (self.backward_layer or self.layer).count_params(x)


@register
@entry
class TimeDistributed(LayerSpec):
    """Applies one layer, with one set of weights, to every step of axis 1 of the input."""

    keras_class = "keras.layers.TimeDistributed"
    positional = ("layer",)
    family: ClassVar[str] = "recurrent"
    call_tensors = ("mask",)
    examples = (
        ({"layer": Dense.create((), {"units": 8})}, (10, 16)),
        ({"layer": Dense.create((), {"units": 3, "use_bias": False})}, (None, 4)),
        ({"layer": Dense.create((), {"units": 5, "activation": "relu"})}, (6, 7, 2)),
        ({"layer": Conv2D.create((8, 3))}, (4, 16, 16, 3)),
        ({"layer": Conv2D.create((4, 3), {"strides": 2, "padding": "same"})}, (None, 9, 9, 1)),
        ({"layer": LSTM.create((4,))}, (3, 10, 6)),
        ({"layer": GRU.create((2,), _SEQ)}, (5, None, 3)),
    )

    layer: LayerSpec = param(convert=to_layer)

    @property
    def statically_checked(self) -> bool:  # type: ignore[override]
        return self.layer.statically_checked

    def validate(self) -> None:
        if self.layer.takes_list or self.layer.call_inputs:
            raise ParamError(
                f"TimeDistributed wraps a layer called on one tensor, got {describe(self.layer)}",
                arg="layer",
            )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        if not isinstance(x, tuple) or len(x) < 2:
            got = show(x) if isinstance(x, tuple) else f"a list of {len(x)} inputs"
            raise ShapeError(
                f"TimeDistributed expects a 3-D or higher input (batch, time, ...), got {got}",
                help="its input needs a time axis after the batch",
            )
        mask = tensors.get("mask")
        if mask is not None and (len(mask) < 1 or not _fits(mask[:1], x[:1])):
            raise ShapeError(
                f"TimeDistributed mask {show(mask)} does not match the input's time axis {show(x)}"
            )
        inner = self.layer.compute_output_shape(x[1:])
        if inner is None:
            return None
        if isinstance(inner, list):
            raise ShapeError(
                f"TimeDistributed cannot wrap a layer with {len(inner)} outputs",
                help="wrap a layer that returns a single tensor",
            )
        return (x[0], *inner)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return self.layer.count_params(x[1:])


def _kernel_columns(layer: LayerSpec, x: Shape) -> int | None:
    """The last axis of the kernel (or embedding table) SpectralNormalization normalizes."""
    if isinstance(layer, Dense):
        return layer.units
    if isinstance(layer, BaseConv):
        return layer.filters
    if isinstance(layer, BaseDepthwiseConv):
        return layer.depth_multiplier
    if isinstance(layer, BaseConvTranspose):  # kernel (*window, filters, input channels)
        return known_channels(x, layer.rank, layer.data_format, layer.layer_name())[1]
    if isinstance(layer, Embedding | ReversibleEmbedding):
        return layer.output_dim
    return None


@register
@entry
class SpectralNormalization(LayerSpec):
    """Divides a layer's kernel by its largest singular value (estimated by power iteration)."""

    training_default = False

    keras_class = "keras.layers.SpectralNormalization"
    positional = ("layer", "power_iterations")
    family: ClassVar[str] = "wrappers"
    examples = (
        ({"layer": Dense.create((8,))}, (16,)),
        ({"layer": Conv2D.create((4, 3)), "power_iterations": 2}, (8, 8, 3)),
        ({"layer": Embedding.create((50, 6))}, (7,)),
        ({"layer": Conv2DTranspose.create((3, 2), {"strides": 2})}, (4, 4, 5)),
        ({"layer": DepthwiseConv2D.create((3,), {"depth_multiplier": 2})}, (6, 6, 3)),
    )

    layer: LayerSpec = param(convert=to_layer)
    power_iterations: int = param(1, convert=integer, minimum=1)

    def validate(self) -> None:
        kinds = (Dense, BaseConv, BaseDepthwiseConv, BaseConvTranspose, Embedding)
        if not isinstance(self.layer, (*kinds, ReversibleEmbedding)):
            raise ParamError(
                f"SpectralNormalization wraps a layer with a kernel, got {describe(self.layer)}",
                arg="layer",
                help="wrap Dense, a Conv, a ConvTranspose, a DepthwiseConv or an Embedding",
            )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        return self.layer.compute_output_shape(x)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        columns = _kernel_columns(self.layer, x) or 0
        return self.layer.count_params(x) + Params(0, columns)  # the power-iteration vector


@register
@entry
class Pipeline(LayerSpec):
    """Layers applied in turn as one layer (Keras's preprocessing pipeline)."""

    training_default = True
    keras_class = "keras.layers.Pipeline"
    positional = ("layers",)
    family: ClassVar[str] = "wrappers"
    examples = (
        ({"layers": [Dense.create((8,)), Dense.create((3,))]}, (5,)),
        ({"layers": [Conv2D.create((4, 3)), Conv2D.create((2, 1))]}, (9, 9, 3)),
    )

    layers: list[LayerSpec] = param(convert=to_layers)

    @property
    def statically_checked(self) -> bool:  # type: ignore[override]
        return all(layer.statically_checked for layer in self.layers)

    def validate(self) -> None:
        for layer in self.layers:
            if layer.takes_list or layer.call_inputs or not layer.is_step:
                raise ParamError(
                    f"Pipeline runs layers called on one tensor, got {describe(layer)}",
                    arg="layers",
                )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        for layer in self.layers:
            x = layer.compute_output_shape(x)
            if isinstance(x, list):
                raise ShapeError(
                    f"Pipeline cannot pass on the {len(x)} outputs of {layer.layer_name()}"
                )
        return x

    def count_params(self, x: Any, **tensors: Any) -> Params:
        total = Params()
        for layer in self.layers:
            total += layer.count_params(x)
            x = layer.compute_output_shape(x)
        return total
