"""The checked graph as JSON (`kspec ir`, Spec.to_json) and back to a spec (kspec.from_json).

The format is described by schema/kspec-ir.schema.json; FORMAT and VERSION name it. Values
are JSON where JSON can say them; what it cannot is tagged: `{"$tuple": [...]}` (a tuple,
kept apart from a list), `{"$object": "Adam", "args": [...], "kwargs": {...}}` (a Keras
object), `{"$layer": "LSTM", "arguments": {...}}` (a layer given as an argument) and
`{"$float": "inf"}`. A catalog layer's own `arguments` are resolved (defaults filled in) and
their sequences are plain arrays: the catalog knows which argument is a tuple.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec, ParamError, keras_class_of, lookup
from kspec.catalog.base import Params
from kspec.check.graph import Checked, Graph, Layer, Tensor
from kspec.diagnostics import Diagnostic, KspecError
from kspec.interop.emit import CallNode, InputNode, LayerNode, ModelNode, write_spec
from kspec.interop.spelling import Values
from kspec.resources import resource_dir
from kspec.source import NO_SPAN, Span
from kspec.syntax import ir

FORMAT = "kspec-ir"
VERSION = 1


# -- to JSON -----------------------------------------------------------------------------------
def to_json(checked: Checked) -> dict[str, Any]:
    """Everything `kspec check` resolved about a file, as plain JSON data."""
    graphs = all_models(checked)
    return {
        "format": FORMAT,
        "version": VERSION,
        "file": checked.path,
        "model": checked.model().name if checked.models else None,
        "models": [model_json(g, checked.uses) for g in graphs],
        "data": {k: value_json(s.value) for k, s in checked.data.items()},
        "train": {k: value_json(s.value) for k, s in checked.train.items()},
        "constants": {k: value_json(v) for k, v in checked.constants.items() if _plain(v)},
        "uses": dict(checked.uses),
    }


def all_models(checked: Checked) -> list[Graph]:
    """The file's models and the models nested in them, each once, nested ones first."""
    out: list[Graph] = []

    def visit(g: Graph) -> None:
        if any(g is seen or g.name == seen.name for seen in out):
            return
        for layer in g.layers:
            if isinstance(layer.spec, Graph):
                visit(layer.spec)
        out.append(g)

    for g in checked.models.values():
        visit(g)
    return out


def model_json(g: Graph, uses: dict[str, str]) -> dict[str, Any]:
    return {
        "name": g.name,
        "class": "Sequential" if g.is_sequential else "Functional",
        "span": span_json(g.span),
        "inputs": [t.ref() for t in g.inputs],
        "outputs": [
            {"tensor": t.ref(), "name": n} for t, n in zip(g.outputs, g.output_names, strict=True)
        ],
        "params": params_json(g.params),
        "layers": [layer_json(layer, uses) for layer in g.layers],
        "nodes": [node_json(call) for call in g.calls],
    }


def layer_json(layer: Layer, uses: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"name": layer.name, "class": layer.class_name}
    spec = layer.spec
    if spec is None:
        out |= {
            "kind": "input",
            "keras_class": "keras.layers.InputLayer",
            "shape": _shape(layer.input_shape),
            "dtype": layer.dtype or "float32",
        }
    elif isinstance(spec, Graph):
        out |= {"kind": "model", "keras_class": "keras.Model", "model": spec.name}
    elif isinstance(spec, GenericLayer):
        target = uses.get(spec.class_name)
        out |= {
            "kind": "layer",
            "keras_class": target or keras_class_of(spec),
            "generic": True,
            "args": [value_json(a) for a in spec.args],
            "arguments": {k: value_json(v) for k, v in spec.kwargs},
        }
    else:
        out |= {
            "kind": "layer",
            "keras_class": keras_class_of(spec),
            "generic": False,
            "arguments": {k: value_json(v, catalog=True) for k, v in spec.arguments().items()},
        }
    out |= {
        "params": params_json(layer.params),
        "statically_checked": layer.params is not None,
        "block_path": list(layer.block_path),
        "span": span_json(layer.span),
    }
    return out


def node_json(call: Any) -> dict[str, Any]:
    inputs = call.inputs
    return {
        "layer": call.layer.name,
        "index": call.node_index,
        "inputs": None if inputs is None else _refs(inputs),
        "tensor_arguments": {k: _refs(v) for k, v in call.tensors.items()},
        "outputs": [
            {"id": t.ref(), "shape": _shape(t.shape), "label": t.label} for t in call.outputs
        ],
        "span": span_json(call.span),
    }


def _refs(value: Tensor | list[Tensor]) -> str | list[str]:
    return [t.ref() for t in value] if isinstance(value, list) else value.ref()


def _shape(shape: Any) -> list[int | None] | None:
    return None if shape is None else list(shape)


def params_json(p: Params | None) -> dict[str, int] | None:
    if p is None:
        return None
    return {"total": p.total, "trainable": p.trainable, "non_trainable": p.non_trainable}


def span_json(span: Span) -> dict[str, Any] | None:
    if not span.line:
        return None
    return {
        "file": span.path,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _plain(value: Any) -> bool:
    try:
        value_json(value)
    except TypeError:
        return False
    return True


def value_json(value: Any, catalog: bool = False) -> Any:
    """A spec value as JSON; `catalog`: inside a catalog layer's arguments (tuples as arrays)."""
    match value:
        case None | bool() | int() | str():
            return value
        case float():
            return value if math.isfinite(value) else {"$float": repr(value)}
        case tuple():
            items = [value_json(v, catalog) for v in value]
            return items if catalog else {"$tuple": items}
        case list():
            return [value_json(v, catalog) for v in value]
        case dict():
            out = {str(k): value_json(v, catalog) for k, v in value.items()}
            return {"$dict": out} if any(k.startswith("$") for k in out) else out
        case KerasObject(name, args, kwargs):
            return {
                "$object": name,
                "args": [value_json(a) for a in args],
                "kwargs": {k: value_json(v) for k, v in kwargs},
            }
        case GenericLayer():
            return {
                "$layer": value.class_name,
                "args": [value_json(a) for a in value.args],
                "arguments": {k: value_json(v) for k, v in value.kwargs},
                "generic": True,
            }
        case LayerSpec():
            arguments = {k: value_json(v, catalog=True) for k, v in value.arguments().items()}
            return {"$layer": value.layer_name(), "arguments": arguments}
    raise TypeError(f"{type(value).__name__} has no JSON form")


# -- back to a spec ----------------------------------------------------------------------------
def _error(message: str) -> KspecError:
    return KspecError(
        [
            Diagnostic(
                "bad-ir-json",
                message,
                NO_SPAN,
                help=f"kspec reads the JSON that `kspec ir` writes ({FORMAT} {VERSION})",
            )
        ]
    )


def value_from_json(data: Any) -> Any:
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [value_from_json(v) for v in data]
    if not isinstance(data, dict):
        raise _error(f"unexpected value {data!r}")
    if isinstance(data.get("$tuple"), list):
        return tuple(value_from_json(v) for v in data["$tuple"])
    if isinstance(data.get("$float"), str):
        return float(data["$float"])
    if isinstance(data.get("$dict"), dict):
        return {k: value_from_json(v) for k, v in data["$dict"].items()}
    if isinstance(data.get("$object"), str):
        args = tuple(value_from_json(a) for a in data.get("args", []))
        kwargs = tuple((k, value_from_json(v)) for k, v in data.get("kwargs", {}).items())
        return KerasObject(data["$object"], args, kwargs)
    if isinstance(data.get("$layer"), str):
        return layer_from_json(data["$layer"], data)
    return {k: value_from_json(v) for k, v in data.items()}


def layer_from_json(class_name: str, data: dict[str, Any]) -> LayerSpec:
    arguments = {k: value_from_json(v) for k, v in data.get("arguments", {}).items()}
    if data.get("generic") or lookup(class_name) is None:
        args = tuple(value_from_json(a) for a in data.get("args", []))
        return GenericLayer(class_name=class_name, args=args, kwargs=tuple(arguments.items()))
    cls = lookup(class_name)
    assert cls is not None
    try:
        return cls.create((), arguments)
    except ParamError as e:
        raise _error(f"layer {class_name}: {e.message}") from None


def from_json(data: Any) -> ir.Spec:
    """The spec that `kspec ir` output describes: models, data and train, `use` lines."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _error(f"not a {FORMAT} document")
    if data.get("version") != VERSION:
        got = data.get("version")
        raise _error(f"{FORMAT} version {got!r} is not supported (this kspec reads {VERSION})")
    try:
        models = [model_from_json(m) for m in data["models"]]
    except (KeyError, TypeError, ValueError) as e:
        raise _error(f"malformed {FORMAT} document: {type(e).__name__}: {e}") from None
    uses = [ir.Use(target, name) for name, target in data.get("uses", {}).items()]
    values = Values()
    sections = []
    for kind in ("data", "train"):
        fields = [
            ir.Field(k, values.expr(value_from_json(v))) for k, v in data.get(kind, {}).items()
        ]
        if fields:
            sections.append(ir.Section(kind, tuple(fields)))
    spec = write_spec(models, sections)
    return ir.Spec((*uses, *spec.items))


def model_from_json(m: dict[str, Any]) -> ModelNode:
    model = ModelNode(m["name"], sequential=m.get("class") == "Sequential")
    layers: dict[str, LayerNode] = {}
    kinds: dict[str, dict[str, Any]] = {}
    for layer in m["layers"]:
        kinds[layer["name"]] = layer
        if layer["kind"] == "layer":
            step = layer["class"]
            if not layer.get("generic") and lookup(step) is None:
                # "class" is what Keras's summary shows ("Functional" for an application);
                # the catalog knows it by the name its keras_class ends with.
                step = str(layer.get("keras_class", step)).rsplit(".", 1)[-1]
            spec = layer_from_json(step, layer)
            layers[layer["name"]] = LayerNode(layer["name"], spec)
        elif layer["kind"] == "model":
            layers[layer["name"]] = LayerNode(layer["name"], None, model=layer["model"])
    for node in m["nodes"]:
        info = kinds[node["layer"]]
        if info["kind"] == "input":
            shape = tuple(info["shape"])
            dtype = None if info.get("dtype", "float32") == "float32" else info["dtype"]
            model.inputs.append(InputNode(info["name"], shape, dtype, node["outputs"][0]["id"]))
            continue
        model.add(
            CallNode(
                layers[node["layer"]],
                node["inputs"],
                dict(node.get("tensor_arguments", {})),
                [o["id"] for o in node["outputs"]],
                [o.get("label") for o in node["outputs"]],
            )
        )
    model.outputs = [(o["tensor"], o.get("name")) for o in m["outputs"]]
    return model


def schema_path() -> Path:
    """schema/kspec-ir.schema.json, installed or in a checkout."""
    return resource_dir("schema") / "kspec-ir.schema.json"
