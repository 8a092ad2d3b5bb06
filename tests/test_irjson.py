"""The JSON IR and the Python API, used the way an outside tool would use them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kspec
from kspec.catalog import KerasObject
from kspec.cli import main
from kspec.interop.irjson import FORMAT, VERSION, schema_path, value_from_json, value_json
from tests.conftest import EXAMPLES, ROOT

SCHEMA = json.loads(schema_path().read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
EXAMPLE_PATHS = sorted(EXAMPLES.glob("*.kspec"))


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert schema_path().read_text() == (ROOT / "schema" / "kspec-ir.schema.json").read_text()


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_kspec_ir_output_validates(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ir", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    VALIDATOR.validate(doc)
    assert (doc["format"], doc["version"]) == (FORMAT, VERSION)
    summaries = {name: kspec.load(path).summary(name) for name in kspec.load(path).models}
    for model in doc["models"]:
        summary = summaries[model["name"]]
        assert model["params"]["total"] == summary["total_params"]
        listed = {layer["name"] for layer in model["layers"] if layer["kind"] != "input"}
        assert listed == {row["name"] for row in summary["layers"] if row["type"] != "InputLayer"}
        for node in model["nodes"]:
            assert all(out["shape"] is not None for out in node["outputs"])
        for layer in model["layers"]:
            assert layer["span"] is None or layer["span"]["file"] == str(path)


def test_a_broken_document_does_not_validate() -> None:
    doc = kspec.load(EXAMPLES / "mnist.kspec").to_json()
    VALIDATOR.validate(doc)
    for breakage in (
        lambda d: d.pop("version"),
        lambda d: d["models"][0]["nodes"][1]["outputs"][0].update(shape=["wide"]),
        lambda d: d["models"][0]["layers"][1].update(kind="gadget"),
        lambda d: d["models"][0]["nodes"][1].update(inputs="not a tensor id"),
        lambda d: d["train"].update(optimizer={"$object": "Adam"}),  # args and kwargs missing
    ):
        broken = json.loads(json.dumps(doc))
        breakage(broken)
        assert not VALIDATOR.is_valid(broken)


def _meaning(doc: dict[str, Any]) -> dict[str, Any]:
    """A document without what a rewrite may change: positions, variable names, block paths."""
    doc = json.loads(json.dumps(doc))
    doc.pop("file")
    doc.pop("constants")  # from_json writes resolved values, not the constants behind them
    for model in doc["models"]:
        model.pop("span")
        for item in model["layers"] + model["nodes"]:
            item.pop("span")
            item.pop("block_path", None)
            for out in item.get("outputs", []):
                out.pop("label")
    return doc


@pytest.mark.parametrize("path", EXAMPLE_PATHS, ids=lambda p: p.stem)
def test_from_json_gives_back_the_same_graph(path: Path) -> None:
    doc = kspec.load(path).to_json()
    again = kspec.from_json(json.dumps(doc), filename="again.kspec")
    assert again.check() == []
    assert _meaning(again.to_json()) == _meaning(doc)


def test_from_json_refuses_other_documents() -> None:
    with pytest.raises(kspec.KspecError) as err:
        kspec.from_json({"format": "something-else"})
    assert err.value.diagnostics[0].code == "bad-ir-json"
    doc = kspec.load(EXAMPLES / "mnist.kspec").to_json() | {"version": VERSION + 1}
    with pytest.raises(kspec.KspecError, match="version 2 is not supported"):
        kspec.from_json(doc)
    with pytest.raises(kspec.KspecError, match="not JSON"):
        kspec.from_json("{")


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        | st.builds(
            KerasObject,
            st.sampled_from(["Adam", "L2"]),
            st.lists(inner, max_size=2).map(tuple),
            st.dictionaries(st.text(min_size=1, max_size=3), inner, max_size=2).map(
                lambda d: tuple(d.items())
            ),
        )
    ),
    max_leaves=12,
)


@given(values)
def test_values_survive_json(value: Any) -> None:
    encoded = json.loads(json.dumps(value_json(value), allow_nan=False))
    assert value_from_json(encoded) == value
    jsonschema.validate(encoded, {"$ref": "#/$defs/value", "$defs": SCHEMA["$defs"]})


# -- the API as an outside tool uses it ------------------------------------------------------
TOOL = textwrap.dedent('''
    import json, sys
    import kspec
    from kspec.syntax.fmt import format_text

    SPEC = """
    units = 32
    model tiny {
        input x: (16,)
        Dense(units, activation=relu)
        Dense(3, activation=sofmax)
    }
    """
    spec = kspec.loads(SPEC, filename="form.kspec")
    diags = spec.check()
    fixed = kspec.loads(SPEC.replace("sofmax", "softmax"), filename="form.kspec")
    wide = fixed.with_overrides({"units": 64})
    print(json.dumps({
        "diagnostics": [
            {"code": d.code, "message": d.message, "file": d.span.path, "line": d.span.line,
             "column": d.span.column, "help": d.help, "severity": d.severity} for d in diags],
        "params": fixed.summary()["total_params"],
        "wide_params": wide.summary()["total_params"],
        "ir_units": wide.to_json()["models"][0]["layers"][1]["arguments"]["units"],
        "fmt": format_text("model m{input x:(2,)}"),
        "tensorflow_loaded": "tensorflow" in sys.modules or "keras" in sys.modules,
    }))
    try:
        spec.summary()
    except kspec.KspecError as e:
        print(json.dumps([d.code for d in e.diagnostics]))
''')


def test_a_tool_checks_a_spec_held_in_a_string_without_tensorflow(tmp_path: Path) -> None:
    command = [sys.executable, "-c", TOOL]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=120, check=True
    )
    first, second = done.stdout.splitlines()
    result = json.loads(first)
    (d,) = result["diagnostics"]
    assert d["code"] == "bad-choice"
    assert d["message"] == "unknown activation 'sofmax'"
    assert (d["file"], d["line"], d["column"]) == ("form.kspec", 6, 14)  # at `activation=`
    assert d["help"] == "did you mean 'softmax'?"
    assert d["severity"] == "error"
    assert result["params"] == 16 * 32 + 32 + 32 * 3 + 3
    assert result["wide_params"] == 16 * 64 + 64 + 64 * 3 + 3
    assert result["ir_units"] == 64
    assert result["fmt"] == "model m {\n    input x: (2,)\n}\n"
    assert result["tensorflow_loaded"] is False
    assert json.loads(second) == ["bad-choice"]


def test_ir_fmt_and_graph_never_load_tensorflow(tmp_path: Path) -> None:
    probe = textwrap.dedent(f"""
        import contextlib, io, sys
        from kspec.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            codes = [main(["ir", {str(EXAMPLES / "resnet_tiny.kspec")!r}]),
                     main(["fmt", "--check", {str(EXAMPLES / "unet.kspec")!r}]),
                     main(["graph", {str(EXAMPLES / "two_inputs.kspec")!r}, "-o", "g.dot"])]
        print(codes, "tensorflow" in sys.modules or "keras" in sys.modules)
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["[0,", "0,", "0]", "False"]
