"""A shape-only stand-in for the parts of Keras that keras.applications' source code calls.

Keras's application modules are run (see keras_source.py) with `keras.src.layers`,
`backend`, `models`, `file_utils`, ... replaced by the objects here. Each `layers.X(...)`
becomes the catalog entry X, so a layer's output shape and parameter count come from the same
rule the checker uses everywhere, and the architecture comes from Keras's own code: one
source for both, exact for any argument Keras accepts, and nothing imported from TensorFlow.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from kspec.catalog.base import (
    ALIASES,
    CATALOG,
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
)


class StandInError(Exception):
    """Keras's application code asked for something the stand-in does not model."""


@dataclass(eq=False)
class Op:
    """One operation of a traced application: a layer (params counted) or a tensor op."""

    name: str
    class_name: str
    params: Params
    inputs: list[Sym]
    is_layer: bool = True
    trainable_params: Params | None = None  # unused; Keras counts weights as built


@dataclass(eq=False)
class Sym:
    """A symbolic tensor: `.shape` with the batch axis, as Keras's KerasTensor has it."""

    dims: Shape  # without the batch axis
    op: Op | None = None

    @property
    def shape(self) -> tuple[int | None, ...]:
        return (None, *self.dims)

    @property
    def ndim(self) -> int:
        return len(self.dims) + 1

    def _arith(self, other: Any, symbol: str) -> Sym:
        other_dims: Shape = other.dims if isinstance(other, Sym) else ()
        dims = _broadcast(self.dims, other_dims)
        inputs = [self, other] if isinstance(other, Sym) else [self]
        return current().record(Op(current().unique(symbol), symbol, Params(), inputs, False), dims)

    def __add__(self, other: Any) -> Sym:
        return self._arith(other, "add")

    __radd__ = __add__

    def __mul__(self, other: Any) -> Sym:
        return self._arith(other, "multiply")

    __rmul__ = __mul__

    def __sub__(self, other: Any) -> Sym:
        return self._arith(other, "subtract")

    def __truediv__(self, other: Any) -> Sym:
        return self._arith(other, "divide")


def _broadcast(a: Shape, b: Shape) -> Shape:
    out: list[int | None] = []
    for i in range(max(len(a), len(b))):
        x = a[len(a) - 1 - i] if i < len(a) else 1
        y = b[len(b) - 1 - i] if i < len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1 or x == y or y is None:
            out.append(x)
        elif x is None:
            out.append(y)
        else:
            raise ShapeError(f"cannot broadcast shapes {a} and {b}")
    return tuple(reversed(out))


@dataclass
class Trace:
    """What one run of an application constructor built."""

    ops: list[Op] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    uids: dict[str, int] = field(default_factory=dict)
    # (file name, URL) of each file Keras would fetch into its cache (weights=imagenet)
    weight_files: list[tuple[str, str]] = field(default_factory=list)
    model: TracedModel | None = None

    def unique(self, base: str) -> str:
        n = self.counters.get(base, 0)
        self.counters[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def record(self, op: Op, dims: Shape) -> Sym:
        self.ops.append(op)
        return Sym(dims, op)


_TRACES: list[Trace] = []


def current() -> Trace:
    if not _TRACES:
        raise StandInError("no application is being traced")
    return _TRACES[-1]


@contextlib.contextmanager
def tracing() -> Iterator[Trace]:
    trace = Trace()
    _TRACES.append(trace)
    try:
        yield trace
    finally:
        _TRACES.pop()


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# -- layers -------------------------------------------------------------------------------
# Arguments that change neither shapes nor parameter counts, and that the catalog's entries do
# not take in the form Keras's application code passes them.
_IGNORED = {"name", "dtype", "trainable"}


class StandInLayer:
    """A catalog entry standing in for `keras.layers.X(...)`."""

    def __init__(self, class_name: str, *args: Any, **kwargs: Any):
        cls = CATALOG.get(ALIASES.get(class_name, class_name))
        if cls is None:
            raise StandInError(f"keras.layers.{class_name} has no catalog entry")
        self.class_name = cls.layer_name()
        self.name: str | None = kwargs.get("name")
        kept = {k: _plain(v) for k, v in kwargs.items() if k not in _IGNORED}
        if isinstance(kept.get("padding"), str):  # Keras lower-cases it ("SAME" in resnet.py)
            kept["padding"] = kept["padding"].lower()
        try:
            self.spec: LayerSpec = cls.create([_plain(a) for a in args], kept)
        except ParamError as e:
            raise StandInError(f"{class_name}({args}, {kept}): {e.message}") from None

    def apply(self, x: Any) -> tuple[Any, Params]:
        shapes = [s.dims for s in x] if isinstance(x, list | tuple) else x.dims
        out = self.spec.compute_output_shape(shapes)
        return out, self.spec.count_params(shapes)

    def __call__(self, x: Any, **_: Any) -> Sym:
        trace = current()
        out, params = self.apply(x)
        name = self.name or trace.unique(_snake(self.class_name))
        inputs = list(x) if isinstance(x, list | tuple) else [x]
        return trace.record(Op(name, self.class_name, params, inputs), out)


def _plain(value: Any) -> Any:
    """Keras-side values as the catalog takes them: lists of numbers stay, callables go."""
    if isinstance(value, list):
        return tuple(_plain(v) for v in value) if _numeric(value) else value
    if isinstance(value, Constant):
        return None
    return value


def _numeric(items: list[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in items)


class Constant:
    """initializers.Constant(...) in ConvNeXt's LayerScale: only its existence matters."""

    def __init__(self, *args: Any, **kwargs: Any):
        pass


def _merge(class_name: str) -> Any:
    def merge(inputs: list[Sym], **kwargs: Any) -> Sym:
        return StandInLayer(class_name, **kwargs)(inputs)

    return merge


class _Layers(SimpleNamespace):
    def __getattr__(self, name: str) -> Any:
        if name in CATALOG or name in ALIASES:
            return lambda *a, **k: StandInLayer(name, *a, **k)
        raise StandInError(f"keras.layers.{name} is not modelled")


def Input(shape: Any = None, tensor: Any = None, **_: Any) -> Sym:
    if tensor is not None:
        raise StandInError("input_tensor is not supported")
    trace = current()
    return trace.record(Op(trace.unique("input_layer"), "InputLayer", Params(), []), tuple(shape))


layers = _Layers(
    Input=Input,
    add=_merge("Add"),
    multiply=_merge("Multiply"),
    concatenate=_merge("Concatenate"),
    subtract=_merge("Subtract"),
)


class Layer:
    """Base of the custom layers Keras's application modules define (LayerScale, ...).

    Their `build` creates weights through add_weight, which is counted; their output has the
    shape of their first input unless the class defines compute_output_shape.
    """

    def __init__(self, name: str | None = None, **_: Any):
        self.name = name
        self._params = Params()

    def add_weight(self, shape: Any = (), trainable: bool = True, **_: Any) -> None:
        size = 1
        for d in shape:
            size *= int(d)
        self._params = self._params + (Params(size) if trainable else Params(0, size))

    def __call__(self, x: Any, **_: Any) -> Sym:
        trace = current()
        inputs = list(x) if isinstance(x, list | tuple) else [x]
        build = getattr(type(self), "build", None)
        if build is not None:
            build(self, x.shape if isinstance(x, Sym) else [i.shape for i in inputs])
        if "compute_output_shape" in type(self).__dict__:
            dims = tuple(self.compute_output_shape(inputs[0].shape))[1:]  # type: ignore[attr-defined]
        else:
            dims = inputs[0].dims
        name = self.name or trace.unique(_snake(type(self).__name__))
        return trace.record(Op(name, type(self).__name__, self._params, inputs), dims)


class Sequential:
    """keras.Sequential of stand-in layers (ConvNeXt's stem and downsampling blocks)."""

    def __init__(self, layers: list[StandInLayer], name: str | None = None):
        self.layers = layers
        self.name = name

    def __call__(self, x: Sym, **_: Any) -> Sym:
        trace = current()
        dims: Any = x.dims
        params = Params()
        for layer in self.layers:
            dims, p = layer.apply(Sym(dims))
            params = params + p
        name = self.name or trace.unique("sequential")
        return trace.record(Op(name, "Sequential", params, [x]), dims)


@dataclass(eq=False)
class TracedModel:
    """keras.Model(inputs, outputs, name): the application as Keras would return it."""

    inputs: Sym
    outputs: Sym
    name: str

    def load_weights(self, path: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def layers(self) -> list[Op]:
        """The layers in Keras's `model.layers` order (keras/src/ops/function.py map_graph).

        A depth-first walk from the output numbers operations as met; operations are listed by
        depth (longest path to the output), deepest first, ties in walk order; tensor
        operations (`x + y`) are not layers.
        """
        index: dict[int, int] = {}
        post: list[Op] = []
        done: set[int] = set()
        start = self.outputs.op
        assert start is not None
        stack: list[tuple[Op, Iterator[Sym]]] = [(start, iter(start.inputs))]
        index[id(start)] = 0
        while stack:
            op, pending = stack[-1]
            for t in pending:
                assert t.op is not None
                if id(t.op) not in done:
                    index.setdefault(id(t.op), len(index))
                    stack.append((t.op, iter(t.op.inputs)))
                    break
            else:
                stack.pop()
                if id(op) not in done:
                    done.add(id(op))
                    post.append(op)
        depth: dict[int, int] = {}
        for op in reversed(post):
            d = depth.setdefault(id(op), 0)
            for t in op.inputs:
                assert t.op is not None
                depth[id(t.op)] = max(depth.get(id(t.op), 0), d + 1)
        ordered = sorted(post, key=lambda o: (-depth[id(o)], index[id(o)]))
        return [o for o in ordered if o.is_layer]


def Functional(inputs: Sym, outputs: Sym, name: str | None = None, **_: Any) -> TracedModel:
    trace = current()
    trace.model = TracedModel(inputs, outputs, name or "functional")
    return trace.model


def get_file(fname: str | None = None, origin: str | None = None, **_: Any) -> str:
    """file_utils.get_file: record which cache file Keras would download, download nothing."""
    name = fname or (origin or "").rsplit("/", 1)[-1]
    current().weight_files.append((name, origin or ""))
    return name


def get_uid(prefix: str = "") -> int:
    trace = current()
    trace.uids[prefix] = trace.uids.get(prefix, 0) + 1
    return trace.uids[prefix]


@contextlib.contextmanager
def name_scope(*_: Any, **__: Any) -> Iterator[None]:
    yield


def _get_activation(value: Any) -> Any:
    return "linear" if value is None else value


def _stub(message: str) -> Any:
    def fail(*_: Any, **__: Any) -> Any:
        raise StandInError(message)

    return fail


# The modules Keras's application code imports, by dotted name.
MODULES: dict[str, Any] = {
    "keras.src.layers": layers,
    "keras.src.layers.layer": SimpleNamespace(Layer=Layer),
    "keras.src.models": SimpleNamespace(Functional=Functional, Sequential=Sequential),
    "keras.src.backend": SimpleNamespace(
        image_data_format=lambda: "channels_last",
        is_keras_tensor=lambda x: isinstance(x, Sym),
        get_uid=get_uid,
        name_scope=name_scope,
        backend=lambda: "tensorflow",
        int_shape=lambda x: x.shape,
    ),
    "keras.src.api_export": SimpleNamespace(keras_export=lambda *a, **k: lambda f: f),
    "keras.src.utils.file_utils": SimpleNamespace(exists=lambda path: True, get_file=get_file),
    "keras.src.ops.operation_utils": SimpleNamespace(
        get_source_inputs=_stub("input_tensor is not supported")
    ),
    "keras.src.activations": SimpleNamespace(get=_get_activation),
    "keras.src.initializers": SimpleNamespace(Constant=Constant),
    "keras.src.ops": SimpleNamespace(),
    "keras.src.random": SimpleNamespace(),
}
