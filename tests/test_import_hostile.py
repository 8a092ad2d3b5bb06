"""`kspec import` of hostile model files: every value read is checked, a wrong one is a
diagnostic naming its field path, and an imported spec holds nothing but the model.

The model files are written here as Keras 3 writes them (no Keras needed). The property test
puts hostile values at every field of two base models (a Sequential and a functional model with a
branch) and proves: no exception but KspecError, and whatever is printed parses, contains only
models, checks clean, and has the layers, names, shapes and dtypes of the file.
`KSPEC_HOSTILE_EXAMPLES=5000` runs more examples than the default.
"""

from __future__ import annotations

import copy
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kspec.check.imports import NoFiles
from kspec.check.spec import check_text
from kspec.cli import main
from kspec.diagnostics import KspecError
from kspec.interop import reader
from kspec.interop.importer import import_file, import_json
from kspec.syntax import ir
from kspec.syntax.parse import parse

INJECTION = (
    'float32\n}\ntrain {\n    callbacks = [CSVLogger("/tmp/VICTIM.txt")]\n}\n'
    "model n {\n    input u: (4,)"
)


# -- model files as Keras 3 writes them ------------------------------------------------------
def policy() -> dict[str, Any]:
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}


def input_layer(name: str = "input_layer", dim: int = 8) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, dim],
            "dtype": "float32",
            "sparse": False,
            "ragged": False,
            "name": name,
        },
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def dense(name: str, units: int, inbound: list[Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": policy(),
            "units": units,
            "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "bias_initializer": {
                "module": "keras.initializers",
                "class_name": "Zeros",
                "config": {},
                "registered_name": None,
            },
            "kernel_regularizer": None,
        },
        "registered_name": None,
    }
    if inbound is not None:
        entry["name"] = name
        entry["inbound_nodes"] = inbound
    return entry


def dropout(name: str, rate: float) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "Dropout",
        "config": {"name": name, "trainable": True, "dtype": policy(), "rate": rate, "seed": None},
        "registered_name": None,
    }


def tensor(layer: str, dim: int, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None, dim], "dtype": "float32", "keras_history": [layer, node, index]},
    }


def sequential() -> dict[str, Any]:
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "seq",
            "trainable": True,
            "layers": [input_layer(), dense("dense", 4), dropout("dropout", 0.25)],
        },
        "registered_name": None,
    }


def functional() -> dict[str, Any]:
    add = {
        "module": "keras.layers",
        "class_name": "Add",
        "config": {"name": "add", "trainable": True, "dtype": policy()},
        "registered_name": None,
        "name": "add",
        "inbound_nodes": [{"args": [[tensor("a", 4), tensor("b", 4)]], "kwargs": {}}],
    }
    return {
        "module": "keras",
        "class_name": "Functional",
        "config": {
            "name": "branchy",
            "trainable": True,
            "layers": [
                input_layer("x"),
                dense("a", 4, [{"args": [tensor("x", 8)], "kwargs": {}}]),
                dense("b", 4, [{"args": [tensor("x", 8)], "kwargs": {}}]),
                add,
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["add", 0, 0]],
        },
        "registered_name": None,
    }


def imported(config: Any) -> str:
    return import_json(json.dumps(config), "model.json")


def error_of(config: Any) -> str:
    with pytest.raises(KspecError) as info:
        imported(config)
    return str(info.value)


def assert_only_the_model(text: str) -> ir.Spec:
    spec = parse(text, "imported.kspec")
    assert all(isinstance(item, ir.Model) for item in spec.items), text
    _, diags = check_text(text, "imported.kspec", raise_errors=False, imports=NoFiles())
    assert not diags.errors, (text, [d.message for d in diags.errors])
    return spec


# -- the reproducers of issues 14 and 15 -------------------------------------------------------
def test_an_input_dtype_cannot_write_a_train_section(tmp_path: Path) -> None:
    config = sequential()
    config["config"]["layers"][0]["config"]["dtype"] = INJECTION
    message = error_of(config)
    assert "config.layers[0].config.dtype: " in message and "is not a dtype" in message
    assert "\ntrain {" not in message  # the value is quoted on one line, never echoed raw
    path, out = tmp_path / "evil.json", tmp_path / "evil.kspec"
    path.write_text(json.dumps(config))
    assert main(["import", str(path), "-o", str(out)]) == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "dtype",
    [
        3,
        2.5,
        None,
        [],
        {"class_name": "DTypePolicy", "config": {"name": "float32\n"}},
        {"class_name": "Lambda", "config": {}},  # found by the property: not a policy
        {"class_name": "DTypePolicy", "config": {}},
        "complex64",
    ],
)
def test_every_input_dtype_is_checked(dtype: Any) -> None:
    config = sequential()
    config["config"]["layers"][0]["config"]["dtype"] = dtype
    if dtype is None:  # absent: float32, as in Keras
        assert_only_the_model(imported(config))
        return
    assert "config.layers[0].config.dtype" in error_of(config)


def test_a_valid_input_dtype_is_kept() -> None:
    config = sequential()
    config["config"]["layers"][0]["config"]["dtype"] = "int32"
    text = imported(config)
    assert "input input_layer: (8,) as int32" in text
    assert_only_the_model(text)


@pytest.mark.parametrize(
    ("where", "value", "words"),
    [
        (("layers",), "x", "config.layers: expected a list, got a string"),
        (("layers", 1), [], "config.layers[1]: expected an object, got a list"),
        (("layers", 1, "config"), 3, "config.layers[1].config: expected an object, got a number"),
        (("layers", 1, "config", "name"), 7, "config.layers[1].config.name: expected a string"),
        (("layers", 1, "inbound_nodes", 0), "t", "config.layers[1].inbound_nodes[0]: expected an"),
        (("layers", 1, "inbound_nodes"), {}, "config.layers[1].inbound_nodes: expected a list"),
        (("input_layers",), [["x", "0", 0]], "config.input_layers[0][1]: expected an integer"),
        (("output_layers",), [["add", 0]], "config.output_layers[0]: expected [layer name"),
        (
            ("layers", 3, "inbound_nodes", 0, "args", 0, 0, "config", "keras_history"),
            "a",
            "expected",
        ),
        (("layers", 1, "config", "units"), 10**40, "an integer with 41 digits"),
        (("layers", 1, "config", "units"), float("nan"), "nan is not a finite number"),
        (("layers", 2, "config", "kernel_initializer", "config", "seed"), [1e999], "inf is not"),
    ],
)
def test_wrong_types_name_the_field(where: tuple[Any, ...], value: Any, words: str) -> None:
    config = functional()
    target: Any = config["config"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    assert words in error_of(config)


def test_an_inbound_node_naming_a_missing_layer() -> None:
    config = functional()
    config["config"]["layers"][3]["inbound_nodes"][0]["args"][0][1] = tensor("ghost", 4)
    message = error_of(config)
    assert "config.layers[3].inbound_nodes[0]" in message and "'ghost'" in message


def test_cycles_and_self_loops_are_found() -> None:
    cycle = functional()
    layers = cycle["config"]["layers"]
    layers[1]["inbound_nodes"][0]["args"][0] = tensor("add", 4)  # a <- add <- a
    assert "cycle (" in error_of(cycle)
    loop = functional()
    loop["config"]["layers"][1]["inbound_nodes"][0]["args"][0] = tensor("a", 4)
    assert "cycle (a -> a)" in error_of(loop)


def test_a_tensor_index_the_layer_does_not_make() -> None:
    config = functional()
    config["config"]["output_layers"] = [["add", 0, 5]]
    assert "add[0][5], which the model does not make" in error_of(config)


def test_deep_json_and_long_numbers(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(KspecError, match="nests lists or objects too deep"):
        import_file(deep)
    nested = sequential()
    nested["config"]["layers"][1]["config"]["kernel_regularizer"] = json.loads(
        "[" * 150 + "]" * 150
    )
    assert "config.layers[1].config.kernel_regularizer" in error_of(nested)
    assert "nested more than 100 deep" in error_of(nested)
    digits = tmp_path / "digits.json"
    text = json.dumps(sequential()).replace('"units": 4', '"units": ' + "9" * 100_001)
    digits.write_text(text)
    with pytest.raises(
        KspecError, match=r"config.layers\[1\].config.units: an integer with 100001"
    ):
        import_file(digits)


def _keras_zip(path: Path, compression: int = zipfile.ZIP_DEFLATED, encrypt: bool = False) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        z.writestr("config.json", json.dumps(sequential()))
    if encrypt:  # set the "encrypted" flag in the local and the central header
        data = bytearray(path.read_bytes())
        data[data.find(b"PK\x03\x04") + 6] |= 1
        data[data.find(b"PK\x01\x02") + 8] |= 1
        path.write_bytes(bytes(data))


def test_zip_entries_keras_never_writes(tmp_path: Path) -> None:
    good = tmp_path / "good.keras"
    _keras_zip(good)
    assert_only_the_model(import_file(good))
    encrypted, lzma = tmp_path / "enc.keras", tmp_path / "lzma.keras"
    _keras_zip(encrypted, encrypt=True)
    _keras_zip(lzma, zipfile.ZIP_LZMA)
    with pytest.raises(KspecError, match=r"encrypted config\.json"):
        import_file(encrypted)
    with pytest.raises(KspecError, match="compressed with method 14"):
        import_file(lzma)


def test_only_regular_files_within_the_limit_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    with pytest.raises(KspecError, match="is a FIFO, not a regular file"):
        import_file(fifo)  # never blocks waiting for a writer
    with pytest.raises(KspecError, match="is a device, not a regular file"):
        import_file("/dev/zero")
    with pytest.raises(KspecError, match="NUL byte"):
        import_file("model\0.json")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(sequential()))
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 100)
    with pytest.raises(KspecError, match="larger than"):
        import_file(big)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("layers", 1, "config", "name"), "a } train {"),
        (("layers", 1, "config", "name"), 'x", activation=softmax, name="y'),
        (("name",), "seq\n}\ntrain {"),
        (("layers", 1, "config", "activation"), "relu)\ntrain {\n"),
    ],
)
def test_hostile_strings_stay_strings(where: tuple[Any, ...], value: str) -> None:
    config = sequential()
    target: Any = config["config"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    try:
        text = imported(config)
    except KspecError:
        return
    assert_only_the_model(text)


def test_hostile_names_are_keras_names() -> None:
    for name in ["", "a/b", "line\nbreak", "\ud800"]:
        config = sequential()
        config["config"]["layers"][1]["config"]["name"] = name
        assert "config.layers[1].config.name: " in error_of(config)


def test_argument_names_from_the_file_are_python_names() -> None:
    config = sequential()
    init = config["config"]["layers"][1]["config"]["kernel_initializer"]["config"]
    init["x)\ntrain {"] = 1
    assert "is not an argument name" in error_of(config)


# -- the property ------------------------------------------------------------------------------
BASES = {"sequential": sequential(), "functional": functional()}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a config: each member and item, at every depth."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


PATHS = {name: _paths(base) for name, base in BASES.items()}


def _get(config: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        config = config[key]
    return config


OBJECT_PATHS = {
    name: [p for p in [(), *PATHS[name]] if isinstance(_get(base, p), dict)]
    for name, base in BASES.items()
}
HOSTILE_TEXT = [
    "",
    "}",
    "{",
    '"',
    "\\",
    "\n",
    "}\ntrain {",
    "}\ntrain {\n    epochs = 1\n}\nmodel m {",
    'import "/etc/passwd"',
    'use "os:system"',
    "a/b",
    "\u2028",
    "\ud800",
    "\x00",
    "relu",
    "float32",
    "int32",
    "x" * 500,
    INJECTION,
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=30),
    st.sampled_from(["__BIG__", "__DEEP__"]),  # replaced in the JSON text below
)
hostile = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=8)), inner, max_size=3
        ),
        st.fixed_dictionaries(
            {"class_name": st.sampled_from(["Lambda", "Zeros", "Dense", "X"]), "config": inner}
        ),
    ),
    max_leaves=6,
)
TRIED = {"values": 0, "imported": 0, "inconsistent": 0}
# What the checker may report about an imported model whose file is inconsistent in itself.
INCONSISTENT = {"shape-error", "shape-mismatch", "bad-shape", "wrong-inputs", "dtype-error"}


@pytest.fixture(scope="module", autouse=True)
def _count() -> Any:
    """Prints how many hostile values the property placed (`pytest -s` shows it)."""
    yield
    print(
        f"\nhostile values tried: {TRIED['values']}, files that imported: {TRIED['imported']} "
        f"({TRIED['inconsistent']} of them models no Keras could build, reported by kspec check)"
    )


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, str]:
    """(base name, JSON text): a base model with one to three hostile values placed in it."""
    name = draw(st.sampled_from(sorted(BASES)))
    config = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 3))):
        value = draw(hostile)
        if draw(st.booleans()):
            path = draw(st.sampled_from(PATHS[name]))
            try:
                _get(config, path[:-1])[path[-1]] = value
            except (KeyError, IndexError, TypeError):
                continue  # an earlier value replaced what this path went through
        else:
            try:
                obj = _get(config, draw(st.sampled_from(OBJECT_PATHS[name])))
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(obj, dict):
                obj[draw(st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=8)))] = value
        TRIED["values"] += 1
    text = json.dumps(config)
    text = text.replace('"__BIG__"', "7" * 5000).replace('"__DEEP__"', "[" * 200 + "]" * 200)
    return name, text


def _facts(config: Any) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    """The layers (name, class) and inputs (shape, dtype) a config describes."""
    layers = config["config"]["layers"]
    inputs = [
        (tuple(e["config"]["batch_shape"][1:]), e["config"].get("dtype") or "float32")
        for e in layers
        if e["class_name"] == "InputLayer"
    ]
    steps = [
        (e["config"].get("name") or e["name"], e["class_name"])
        for e in layers
        if e["class_name"] != "InputLayer"
    ]
    return sorted(steps), inputs


@settings(
    max_examples=int(os.environ.get("KSPEC_HOSTILE_EXAMPLES", 300)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile_files())
def test_hostile_model_files_import_to_the_model_or_a_diagnostic(case: tuple[str, str]) -> None:
    _, text = case
    try:
        spec_text = import_json(text, "model.json")
    except KspecError as e:
        assert e.diagnostics and all(
            d.code in ("import-error", "cannot-import") for d in e.diagnostics
        )
        return
    TRIED["imported"] += 1
    spec = parse(spec_text, "imported.kspec")
    assert all(isinstance(item, ir.Model) for item in spec.items), spec_text
    checked, diags = check_text(spec_text, "imported.kspec", raise_errors=False, imports=NoFiles())
    if diags.errors:  # a model Keras could not build either (`input x: (none,)` into Dense)
        assert {d.code for d in diags.errors} <= INCONSISTENT, [d.message for d in diags.errors]
        TRIED["inconsistent"] += 1
        return
    assert checked is not None
    graph = checked.model(spec.items[-1].name)  # type: ignore[union-attr]
    steps, inputs = _facts(reader.decode(text))
    got = sorted(
        (layer.name, getattr(layer.spec, "class_name", None) or layer.spec.layer_name())  # type: ignore[union-attr]
        for layer in graph.layers
        if layer.spec is not None
    )
    assert got == steps
    assert [(t.shape, t.dtype) for t in graph.inputs] == inputs


def _zip_bytes() -> bytes:
    import io

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        z.writestr("config.json", json.dumps(functional()))
    return out.getvalue()


ZIP = _zip_bytes()


@settings(
    max_examples=int(os.environ.get("KSPEC_HOSTILE_EXAMPLES", 300)) // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.tuples(st.integers(0, len(ZIP) - 1), st.integers(0, 255)), max_size=8),
    st.integers(22, len(ZIP)),
)
def test_damaged_keras_zips_import_or_are_a_diagnostic(
    tmp_path: Path, flips: list[tuple[int, int]], length: int
) -> None:
    data = bytearray(ZIP[:length])
    for at, byte in flips:
        if at < len(data):
            data[at] = byte
    path = tmp_path / "model.keras"
    path.write_bytes(bytes(data))
    try:
        text = import_file(path)
    except KspecError as e:
        assert all(d.code in ("import-error", "cannot-import") for d in e.diagnostics)
        return
    assert_only_the_model(text)


def test_an_input_layer_that_is_not_a_model_input() -> None:
    config = functional()  # found by the property: the InputLayer is read but not listed
    config["config"]["input_layers"] = []
    assert "config.input_layers: expected at least one input" in error_of(config)
    config["config"]["layers"].append(input_layer("y"))
    config["config"]["layers"][2]["inbound_nodes"][0]["args"][0] = tensor("y", 8)
    config["config"]["input_layers"] = [["x", 0, 0]]
    assert "reads the tensor y[0][0] of layer 'y', which the model does not have" in error_of(
        config
    )
