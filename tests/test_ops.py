"""Differential tests of the keras.ops catalog: every example built by Keras's own functions."""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kspec
from kspec.catalog.opbase import OPS, OpSpec, result_dtype

pytestmark = pytest.mark.keras


def op_examples() -> list[Any]:
    return [
        pytest.param(cls, kwargs, operands, id=f"{name}-{i}")
        for name, cls in sorted(OPS.items())
        for i, (kwargs, operands) in enumerate(cls.op_examples)
    ]


def _static(cls: type[OpSpec], kwargs: dict[str, Any], operands: tuple[Any, ...]) -> Any:
    """The checker's answer for operands given as shapes (tensors) or numbers."""
    spec = cls.create([], kwargs)
    shapes: list[Any] = []
    scalars = []
    for i, o in enumerate(operands):
        if isinstance(o, tuple):
            shapes.append(o)
        elif isinstance(o, list) and o and isinstance(o[0], tuple):
            shapes.extend(o)
        else:
            scalars.append((i, o))
    spec = replace(spec, scalars=tuple(scalars))
    return spec, spec.compute_output_shape(shapes)


def _keras_call(keras: Any, cls: type[OpSpec], kwargs: dict[str, Any], operands: Any) -> Any:
    """Call the public keras.ops function the way a hand-written model would."""
    values = []
    for o in operands:
        if isinstance(o, tuple):
            values.append(keras.Input(o))
        elif isinstance(o, list) and o and isinstance(o[0], tuple):
            values.append([keras.Input(s) for s in o])
        else:
            values.append(o)
    fn = getattr(keras.ops, cls.function)
    if cls.signature[-1].startswith("*"):
        return fn(kwargs["subscripts"], *values)
    return fn(*values, **kwargs)


def _shape(t: Any) -> Any:
    if isinstance(t, list | tuple):
        return [tuple(x.shape[1:]) for x in t]
    return tuple(t.shape[1:])


@pytest.mark.parametrize(("cls", "kwargs", "operands"), op_examples())
def test_op_matches_keras(cls: type[OpSpec], kwargs: dict[str, Any], operands: Any) -> None:
    import keras

    spec, expected = _static(cls, kwargs, operands)
    out = _keras_call(keras, cls, kwargs, operands)
    assert _shape(out) == expected
    first = out[0] if isinstance(out, list) else out
    op = first._keras_history.operation
    assert f"{type(op).__module__}.{type(op).__name__}" == cls.keras_class
    dtypes: list[Any] = []
    for o in operands:  # Keras inputs are float32; numbers are weak
        if isinstance(o, list) and o and isinstance(o[0], tuple):
            dtypes += ["float32"] * len(o)
        else:
            dtypes.append("float32" if isinstance(o, tuple) else o)
    assert result_dtype(spec, dtypes) == first.dtype


@pytest.mark.parametrize("name", sorted(OPS))
def test_signature_is_keras(name: str) -> None:
    """Argument names and order are the keras.ops function's, so positional calls agree."""
    import keras

    cls = OPS[name]
    params = inspect.signature(getattr(keras.ops, name)).parameters.values()
    keras_args = tuple(
        ("*" if p.kind is p.VAR_POSITIONAL else "") + p.name
        for p in params
        if p.kind is not p.VAR_KEYWORD
    )
    assert keras_args == cls.signature
    assert cls.op_examples, f"{name} has no examples"


@pytest.mark.parametrize(
    ("dtype", "other"),
    [("float32", 2), ("float32", 2.5), ("int32", 2), ("int32", 2.5), ("int32", "float32"),
     ("bool", 1), ("bool", "bool"), ("float16", "float32"), ("int32", "int64")],
)  # fmt: skip
def test_arithmetic_dtypes_are_keras(dtype: str, other: Any) -> None:
    import keras

    x = keras.Input((3,), dtype=dtype)
    y = keras.Input((3,), dtype=other) if isinstance(other, str) else other
    for op in ("add", "multiply", "true_divide", "power"):
        spec = OPS[op].create([], {})
        got = getattr(keras.ops, op)(x, y).dtype
        assert result_dtype(spec, [dtype, other]) == got, op


# -- random arithmetic over broadcastable shapes, checked against Keras -------------------
dims = st.sampled_from([1, 2, 3])


@st.composite
def broadcast_pair(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    rank = draw(st.integers(1, 3))
    base = draw(st.lists(dims, min_size=rank, max_size=rank))
    other = [1 if draw(st.booleans()) else d for d in base]
    cut = draw(st.integers(0, rank - 1))
    pair = (tuple(base), tuple(other[cut:]))
    return pair if draw(st.booleans()) else (pair[1], pair[0])


@settings(max_examples=30)
@given(
    pairs=st.lists(broadcast_pair(), min_size=1, max_size=3),
    ops_=st.lists(st.sampled_from(["+", "-", "*", "/", "**"]), min_size=3, max_size=3),
    scalar=st.sampled_from([None, 2, 0.5]),
)
def test_random_arithmetic_checks_to_keras_shapes(
    pairs: list[tuple[tuple[int, ...], tuple[int, ...]]], ops_: list[str], scalar: Any
) -> None:
    import keras

    inputs = [s for pair in pairs for s in pair]
    lines = [f"    input x{i}: ({', '.join(map(str, s))},)" for i, s in enumerate(inputs)]
    expr = "x0"
    for i in range(1, len(inputs)):
        expr = f"({expr} {ops_[i % 3]} x{i})"
    if scalar is not None:
        expr = f"({expr} {ops_[0]} {scalar})"
    text = "model m {\n" + "\n".join(lines) + f"\n    output {expr}\n}}\n"
    tensors = {f"x{i}": keras.Input(s) for i, s in enumerate(inputs)}
    try:
        out = eval(expr, {}, tensors)  # the same expression on Keras tensors
    except ValueError:  # Keras cannot broadcast: neither may the checker
        with pytest.raises(kspec.KspecError, match="cannot broadcast"):
            kspec.loads(text).graph()
        return
    assert kspec.loads(text).graph().outputs[0].shape == tuple(out.shape[1:])


OPS_SPEC = """
model m {
    input x: (4, 3)
    h = x -> Dense(3)
    gate = (h + 3) -> ReLU(6.0)
    y = h * gate / 6
    d = ops.sqrt(ops.sum(ops.square(x - y), axis=-1, keepdims=true))
    a, b = ops.split(y, 2, axis=1)
    output ops.concatenate([a, b], axis=1) - d
}
"""


def test_builder_makes_the_checked_operations() -> None:
    spec = kspec.loads(OPS_SPEC)
    graph = spec.graph()
    model = spec.build()
    names = [(op.name, type(op).__name__) for op in model.operations]
    assert names == [(lay.name, lay.class_name) for lay in graph.keras_layers()]
    assert [lay.name for lay in model.layers] == [
        lay.name for lay in graph.keras_layers() if not lay.is_op
    ]
    assert tuple(model.output.shape[1:]) == graph.outputs[0].shape


def test_generated_script_builds_the_same_operations() -> None:
    """The script writes the spec's expressions; Keras makes the same operation nodes."""
    spec = kspec.loads(OPS_SPEC)
    code = spec.codegen(only="model")
    assert "h * gate" in code and "keras.ops.sum(square, axis=-1, keepdims=True)" in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "generated.py", "exec"), namespace)
    generated, built = namespace["build_model"](), spec.build()

    def nodes(model: Any) -> list[tuple[str, Any]]:
        return [(type(op).__name__, _shape(op.output)) for op in model.operations]

    assert nodes(generated) == nodes(built)


def test_chain_may_start_with_an_expression() -> None:
    graph = kspec.loads("model m {\n    input x: (4,)\n    (x + 3) -> ReLU(6.0)\n}\n").graph()
    assert [lay.class_name for lay in graph.keras_layers()] == ["InputLayer", "Add", "ReLU"]
