"""The checker, feature by feature: what a spec means, and what it reports when it is wrong.

Expected shapes and counts come from the catalog's own rules (which the differential tests hold
to Keras) or from the spec's arguments, never typed in by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kspec.catalog import CATALOG, Params
from kspec.check.graph import Checked, Graph
from kspec.check.spec import check_text
from kspec.diagnostics import Diagnostic, KspecError


def check(text: str, overrides: Any = None, path: str = "t.kspec") -> Checked:
    checked, _ = check_text(text, path, overrides)
    assert checked is not None
    return checked


def graph(text: str, overrides: Any = None) -> Graph:
    return check(text, overrides).model()


def errors(text: str, overrides: Any = None, path: str = "t.kspec") -> list[Diagnostic]:
    with pytest.raises(KspecError) as e:
        check_text(text, path, overrides)
    return [d for d in e.value.diagnostics if d.severity == "error"]


def warnings(text: str) -> list[Diagnostic]:
    return check(text).warnings


def shapes(g: Graph) -> dict[str, list[Any]]:
    return {layer.name: [t.shape for c in layer.calls for t in c.outputs] for layer in g.layers}


def catalog(layer: str, shape: Any, *args: Any, **kwargs: Any) -> tuple[Any, Params]:
    """What the catalog entry alone says: (output shape, parameter count)."""
    spec = CATALOG[layer].create(args, kwargs)
    return spec.compute_output_shape(shape), spec.count_params(shape)


def model(body: str, head: str = "") -> str:
    return f"{head}\nmodel m {{\n{body}\n}}\n"


# -- constants and expressions ---------------------------------------------------------------
def test_constants_expressions_and_builtins() -> None:
    checked = check(
        "base = 8\nn = len([1, 2, 3])\nwide = base * 2 ** n\nhalf = wide // 2 + min(1, 2)\n"
        'flag = true and not false\npick = 10 if flag else 20\nd = {a: 1}\nnames = d["a"]\n'
        "sym = relu\nfrac = 1 / 4\nr = range(2, 8, 3)\n"
    )
    c = checked.constants
    assert (c["wide"], c["half"], c["pick"], c["names"]) == (64, 33, 10, 1)
    assert c["sym"] == "relu"  # an unbound name is the symbol of the same spelling
    assert c["frac"] == 0.25 and c["r"] == [2, 5]


def test_constants_are_visible_in_models_and_blocks() -> None:
    g = graph(
        model(
            "input x: (4,)\nDense(units)\nout(units)",
            "units = 3\nblock out(n) {\n    input x\n    output x -> Dense(n * 2)\n}",
        )
    )
    assert [s for s in shapes(g).values()][-2:] == [[(3,)], [(6,)]]


def test_a_tensor_shape_is_a_value() -> None:
    g = graph(model("input x: (6,)\nh = x -> Dense(7)\nDense(h.shape[-1] * x.shape[0])"))
    assert shapes(g)["dense_1"] == [(42,)]


# -- --set overrides -------------------------------------------------------------------------
OVERRIDABLE = model("input x: (8,)\nDense(units, activation=act)", "units = 4\nact = relu\n") + (
    "train {\n    epochs = 5\n    loss = mse\n}\n"
)


def test_overrides_of_constants_and_fields() -> None:
    checked = check(
        OVERRIDABLE, ["units=7", "act=tanh", "train.epochs=1", "data.validation_split=0.2"]
    )
    dense = checked.model().layers[-1]
    assert shapes(checked.model())["dense"] == [(7,)]
    assert dense.spec.activation == "tanh"  # type: ignore[union-attr]
    assert checked.train["epochs"].value == 1
    assert checked.data["validation_split"].value == 0.2
    assert checked.constants["units"] == 7


def test_overrides_as_a_dict_from_the_api() -> None:
    checked = check(OVERRIDABLE, {"units": 2, "train.epochs": 3})
    assert shapes(checked.model())["dense"] == [(2,)]
    assert checked.train["epochs"].value == 3


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("unit=3", "this file has no constant 'unit' to override"),
        ("units", "--set 'units' has no '='"),
        ("units=(3", "'(' is never closed"),
        ("train.epoch=1", "unknown train field 'epoch'"),
        ("trian.epochs=1", "unknown --set target 'trian.epochs'"),
        ('units="x"', "units: expected an integer, got a string ('x')"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    assert [d.message for d in errors(OVERRIDABLE, [override])] == [message]


# -- blocks, loops, conditionals -------------------------------------------------------------
RESIDUAL = """\
block residual(filters, stride=1) {
    input x
    y = x -> Conv2D(filters, 3, strides=stride, padding=same) -> ReLU()
    shortcut = x -> Conv2D(filters, 1, strides=stride) if stride != 1 else x
    output [y, shortcut] -> Add()
}
"""


def test_block_instances_prefix_their_layer_names() -> None:
    g = graph(
        model(
            'input x: (8, 8, 4)\nresidual(4)\nresidual(8, stride=2)\nresidual(8, name="last")',
            RESIDUAL,
        )
    )
    names = [layer.name for layer in g.layers]
    assert names[:4] == ["x", "residual1_conv2d", "residual1_re_lu", "residual1_add"]
    assert "residual2_conv2d_1" in names  # the shortcut's convolution in the second instance
    assert "last_add" in names
    assert [layer.block_path for layer in g.layers][1] == ("residual1",)


def test_loops_with_tuple_targets_and_else_if() -> None:
    g = graph(
        model(
            "input x: (16,)\n"
            "for i, units in [(0, 8), (1, 6), (2, 4)] {\n"
            "    if i == 0 {\n        Dense(units)\n"
            "    } else if i == 1 {\n        Dense(units * 2)\n"
            "    } else {\n        Dropout(0.1)\n    }\n}"
        )
    )
    assert list(shapes(g).values())[1:] == [[(8,)], [(12,)], [(12,)]]


def test_block_shapes_are_inferred_at_each_use() -> None:
    g = graph(model("input x: (8, 8, 4)\nresidual(4)\nresidual(6, stride=2)", RESIDUAL))
    out = g.outputs[0]
    assert out.shape == catalog("Conv2D", (8, 8, 4), 6, 1, strides=2)[0]


def test_block_and_model_recursion_are_errors() -> None:
    text = (
        "block a(n) {\n    input x\n    output x -> b(n)\n}\nblock b(n) {\n    input x\n"
        "    output x -> a(n)\n}\n" + model("input x: (3,)\na(1)")
    )
    (e,) = errors(text)
    assert e.code == "block-recursion" and e.message == "block recursion: a -> b -> a"
    (e,) = errors(model("input x: (3,)\nx -> m"))
    assert e.code == "model-recursion"


def test_an_error_in_a_block_says_where_the_block_was_used() -> None:
    down = "block down() {\n    input x\n    output x -> Conv2D(4, 3) -> MaxPooling2D(2)\n}"
    text = model("input x: (8, 8, 1)\nfor i in range(4) {\n    down()\n}", down)
    (e,) = errors(text)
    assert e.code == "shape-error" and e.message.startswith("MaxPooling2D: window 2 is larger")
    assert e.span.line == 3  # in the block, with a note on where the block was used
    assert e.notes == ("in down() used at t.kspec:8:5",)


def test_the_same_error_in_every_iteration_is_reported_once() -> None:
    text = model("input x: (8,)\nfor i in range(5) {\n    Dense(4, activation=rleu)\n}")
    assert [d.message for d in errors(text)] == ["unknown activation 'rleu'"]


def test_a_failed_step_does_not_cascade_into_the_next() -> None:
    text = model("input x: (28, 28, 1)\nConv2D(8, 3, activaton=relu)\nConv2D(8, 30)\nLSTM(3)")
    assert [d.message for d in errors(text)] == ["Conv2D has no argument 'activaton'"]


def test_several_independent_errors_are_all_reported() -> None:
    text = model("input x: (4,)\nDense(0)\ny = x -> Dense(2, activation=rleu)\nz = q -> Dense(1)")
    assert [d.code for d in errors(text)] == ["out-of-range", "bad-choice", "undefined-tensor"]


# -- shared layers, multi-output layers, call-time tensors, nested models ---------------------
def test_shared_layer_is_one_layer_called_several_times() -> None:
    g = graph(
        model(
            "input a: (8,)\ninput b: (8,)\nlayer proj = Dense(5)\n"
            "output [a -> proj, b -> proj] -> Concatenate()"
        )
    )
    (proj,) = [layer for layer in g.layers if layer.name == "proj"]
    assert len(proj.calls) == 2 and [c.node_index for c in proj.calls] == [0, 1]
    assert proj.params == catalog("Dense", (8,), 5)[1]


def test_multi_output_bind_and_call_time_tensors() -> None:
    g = graph(
        model(
            "input x: (10, 8)\n"
            "seq, h, c = x -> LSTM(16, return_sequences=true, return_state=true)\n"
            "y = seq -> LSTM(16, initial_state=[h, c])\n"
            "output y"
        )
    )
    first, second = g.layers[1], g.layers[2]
    assert first.calls[0].multi_output and len(first.calls[0].outputs) == 3
    assert [t.label for t in first.calls[0].outputs] == ["seq", "h", "c"]
    assert list(second.calls[0].tensors) == ["initial_state"]
    assert (
        shapes(g)["lstm"]
        == catalog("LSTM", (10, 8), 16, return_sequences=True, return_state=True)[0]
    )


def test_a_list_source_unpacks_into_call_inputs() -> None:
    g = graph(
        model(
            "input q: (5, 16)\ninput v: (7, 16)\n"
            "output [q, v] -> MultiHeadAttention(num_heads=2, key_dim=8)"
        )
    )
    mha = g.layers[-1]
    assert mha.calls[0].inputs == g.inputs
    assert g.outputs[0].shape == (5, 16)


def test_a_model_used_as_a_step_is_nested_and_shared() -> None:
    checked = check(
        "model enc {\n    input x: (8,)\n    Dense(4)\n}\n"
        + model("input a: (8,)\ninput b: (8,)\noutput [a -> enc, b -> enc] -> Concatenate()")
    )
    outer = checked.models["m"]
    (nested,) = [layer for layer in outer.layers if layer.name == "enc"]
    assert nested.spec is checked.models["enc"] and len(nested.calls) == 2
    assert nested.params == checked.models["enc"].params
    assert outer.outputs[0].shape == (8,)


def test_keywords_as_argument_and_field_names() -> None:
    checked = check(
        model("input x: (6, 3)\nBidirectional(layer=LSTM(4), merge_mode=concat)")
        + "model other {\n    input y: (2,)\n    Dense(1)\n}\n"
        + "train {\n    model = m\n    loss = mse\n}\n"
    )
    assert checked.model().name == "m"
    assert checked.model().outputs[0].shape == (8,)


# -- imports ---------------------------------------------------------------------------------
def test_imports_bring_blocks_models_and_constants(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "blocks.kspec").write_text('import "more.kspec"\n' + RESIDUAL)
    (lib / "more.kspec").write_text("width = 6\n")
    main = tmp_path / "main.kspec"
    main.write_text(
        model("input x: (8, 8, 3)\nresidual(width, stride=2)", 'import "lib/blocks.kspec"')
    )
    g = check(main.read_text(), path=str(main)).model()
    assert g.outputs[0].shape == catalog("Conv2D", (8, 8, 3), 6, 1, strides=2)[0]


def test_import_cycle_and_missing_import(tmp_path: Path) -> None:
    (tmp_path / "a.kspec").write_text('import "b.kspec"\n')
    (tmp_path / "b.kspec").write_text('import "a.kspec"\n')
    main = tmp_path / "main.kspec"
    text = 'import "a.kspec"\nimport "gone.kspec"\n'
    cycle, missing = errors(text, path=str(main))
    assert cycle.code == "import-cycle"
    assert cycle.message.count("a.kspec") == 2 and "b.kspec ->" in cycle.message
    assert missing.code == "import-missing" and missing.span.line == 2


# -- warnings --------------------------------------------------------------------------------
def test_unused_input_and_tensor_warnings() -> None:
    got = warnings(
        model("input x: (4,)\ninput extra: (2,)\nside = x -> Dense(3)\noutput x -> Dense(1)")
    )
    assert [(d.code, d.message) for d in got] == [
        ("unused", "input 'extra' is never used"),
        ("unused", "tensor 'side' is never used"),
    ]


def test_a_chain_result_nothing_reads_warns() -> None:
    """Keras would leave the layers of such a chain out of the model."""
    (w,) = warnings(model("input x: (4,)\nh = x -> Dense(3)\nh -> Dense(2)\noutput h -> Dense(1)"))
    assert (w.code, w.message, w.span.line) == (
        "unused",
        "the result of this chain is never used",
        5,
    )
    assert warnings(model("input x: (4,)\nDense(3)\nDense(2)")) == []  # each feeds the next


def test_from_logits_after_softmax_warns() -> None:
    text = model("input x: (4,)\nDense(3, activation=softmax)") + (
        "train {\n    loss = SparseCategoricalCrossentropy(from_logits=true)\n}\n"
    )
    (w,) = warnings(text)
    assert w.code == "logits-after-softmax" and w.severity == "warning"
    clean = text.replace("activation=softmax", "activation=none")
    assert warnings(clean) == []


# -- data and train read with the model ------------------------------------------------------
def test_loss_must_fit_the_output() -> None:
    text = model("input x: (32, 32, 3)\nFlatten()\nDense(10, activation=softmax)") + (
        "data {\n    source = cifar100\n}\ntrain {\n    loss = sparse_categorical_crossentropy\n}\n"
    )
    (e,) = errors(text)
    assert e.code == "loss-mismatch" and "100 classes" in e.message
    assert check(text.replace("Dense(10", "Dense(100")).train["loss"].value


def test_input_must_fit_the_data() -> None:
    text = model("input x: (32, 32, 3)\nFlatten()\nDense(10)") + "data {\n    source = mnist\n}\n"
    (e,) = errors(text)
    assert e.code == "data-mismatch" and e.message.startswith("input 'x' is declared (32, 32, 3)")
    for fits in ("(28, 28)", "(28, 28, 1)"):
        check(text.replace("(32, 32, 3)", fits))


def test_unknown_fields_point_at_their_names() -> None:
    head = model("input x: (2,)\nDense(1)")
    (e,) = errors(head + "train {\n    epochs = 1\n    batchsize = 3\n}\n")
    line = head.count("\n") + 3
    assert e.code == "unknown-field"
    assert (e.span.line, e.span.column, e.span.end_column) == (line, 5, 14)
    assert e.help == "did you mean 'batch_size'?"


def test_train_model_must_name_a_model() -> None:
    text = model("input x: (2,)\nDense(1)") + "train {\n    model = n\n}\n"
    (e,) = errors(text)
    assert e.code == "unknown-model"


@pytest.mark.parametrize("kind", ["block", "model"])
def test_nesting_beyond_the_limit_is_a_diagnostic(kind: str) -> None:
    """Blocks in blocks (or models in models) 300 deep: an error, not a RecursionError."""
    n = 300
    if kind == "block":
        text = "".join(
            f"block b{i}() {{\n    input x\n    output x -> b{i + 1}()\n}}\n" for i in range(n)
        )
        text += f"block b{n}() {{\n    input x\n    output x -> Dense(2)\n}}\n" + model(
            "input x: (3,)\nb0()"
        )
    else:
        text = "".join(
            f"model m{i} {{\n    input x: (3,)\n    x -> m{i + 1}\n}}\n" for i in range(n)
        )
        text += f"model m{n} {{\n    input x: (3,)\n    Dense(3)\n}}\n"
    codes = {d.code for d in errors(text)}
    assert codes == {"too-deep"}


def test_train_model_may_name_an_imported_model(tmp_path: Path) -> None:
    (tmp_path / "lib.kspec").write_text("model enc {\n    input x: (4,)\n    Dense(2)\n}\n")
    main = tmp_path / "main.kspec"
    main.write_text('import "lib.kspec"\ntrain {\n    model = enc\n    loss = mse\n}\n')
    checked, diags = check_text(main.read_text(), str(main))
    assert checked is not None and not diags.errors
    assert checked.model().name == "enc" and checked.model().params.total == 10


def test_a_file_with_sections_and_no_model_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "lib.kspec").write_text("model enc {\n    input x: (4,)\n    Dense(2)\n}\n")
    main = tmp_path / "main.kspec"
    main.write_text('import "lib.kspec"\ntrain {\n    loss = mse\n}\n')
    _, diags = check_text(main.read_text(), str(main), raise_errors=False)
    (error,) = diags.errors
    assert error.code == "no-model" and error.span.line == 3
    assert error.help == "name an imported one: train { model = enc }"


def test_tensors_as_block_arguments_suggest_a_list_chain() -> None:
    text = (
        "block add_norm() {\n    input a\n    input b\n"
        "    [a, b] -> Add() -> LayerNormalization()\n}\n"
        "model m {\n    input e: (4, 8)\n    input f: (4, 8)\n    add_norm(e, f)\n}\n"
    )
    _, diags = check_text(text, "b.kspec", raise_errors=False)
    (error,) = diags.errors
    assert error.code == "misplaced-tensor"
    assert error.help == "feed them through the chain: [e, f] -> add_norm()"
