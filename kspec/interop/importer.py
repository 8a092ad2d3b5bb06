"""`kspec import` and kspec.from_keras: an existing Keras model -> a readable spec.

Only the model's config JSON is read (a .keras file is a zip holding config.json); no code from
the file runs and the model is never loaded: Lambda layers and custom classes are errors that
name the layer, as Keras's safe_mode refuses them. Models nested in the model become models of
their own in the spec, before the model that uses them.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from kspec.catalog.opbase import OpSpec
from kspec.catalog.ops_shape import Split
from kspec.check.ops import constant_operand
from kspec.diagnostics import Diagnostic, KspecError
from kspec.interop.emit import CallNode, InputNode, LayerNode, ModelNode, write_spec
from kspec.interop.keras_config import (
    ConfigError,
    Notes,
    input_shape,
    is_operation,
    layer_spec,
    op_spec,
    plain,
)
from kspec.source import Span
from kspec.syntax.printer import print_spec

MODEL_CLASSES = ("Functional", "Sequential", "Model")


def import_file(path: str | Path) -> str:
    """The spec text for a .keras file or a model config .json file."""
    p = Path(path)
    return config_to_text(read_config(p), f"{p.name}")


def read_config(path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".h5":
            raise _file_error(
                path,
                "is in the legacy HDF5 format; kspec reads .keras files",
                "open it in Keras and save it with model.save('model.keras')",
            )
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                if "config.json" not in z.namelist():
                    raise _file_error(path, "is a zip file without config.json, not a .keras model")
                data = json.loads(z.read("config.json"))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as e:
        raise _file_error(path, f"cannot be read: {getattr(e, 'strerror', None) or e}") from None
    except json.JSONDecodeError as e:
        raise _file_error(path, f"is not JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(data, dict):
        raise _file_error(path, "does not hold a Keras model config")
    return data


def _file_error(path: Path, message: str, help: str | None = None) -> KspecError:
    return KspecError(
        [Diagnostic("import-error", f"{path} {message}", Span(0, 0, 0, 0, str(path)), help)]
    )


def from_keras_model(model: Any) -> str:
    """The spec text for a keras.Model (read through its config, as from a file)."""
    return config_to_text(json.loads(model.to_json()), f"the Keras model '{model.name}'")


def config_to_text(data: dict[str, Any], origin: str) -> str:
    entry = data if "class_name" in data else _bare_config(data)
    models: list[ModelNode] = []
    notes = Notes()
    try:
        model_node(entry, models, notes)
        if notes.errors:
            raise notes.errors[0]
    except ConfigError as e:
        errors = notes.errors or [e]
        raise KspecError(
            [
                Diagnostic("import-error", x.message, Span(0, 0, 0, 0, origin), x.help)
                for x in errors
            ]
        ) from None
    except (KeyError, TypeError, IndexError, ValueError) as e:
        message = (
            f"{origin} is not a Keras model config this kspec understands ({type(e).__name__}: {e})"
        )
        raise KspecError([Diagnostic("import-error", message, Span(0, 0, 0, 0, origin))]) from None
    if data.get("compile_config"):
        notes.items.append(
            "the model was compiled; its optimizer, loss and metrics are not "
            "imported: write them in a train { ... } section"
        )
    header = [f"# imported from {origin} by kspec import"]
    header += [f"# note: {n}" for n in dict.fromkeys(notes.items)]
    return "\n".join(header) + "\n" + print_spec(write_spec(models))


def _bare_config(data: dict[str, Any]) -> dict[str, Any]:
    """A get_config() dict without the class wrapper around it."""
    cls = "Functional" if "input_layers" in data else "Sequential"
    return {"class_name": cls, "config": data}


def model_node(entry: dict[str, Any], models: list[ModelNode], notes: Notes) -> ModelNode:
    """The model (and before it, in `models`, every model nested in it)."""
    cls = entry.get("class_name")
    config = entry.get("config") or {}
    name = config.get("name") or entry.get("name") or "model"
    if cls not in MODEL_CLASSES or entry.get("registered_name") not in (None, cls):
        raise ConfigError(
            f"model '{name}' has the custom class '{entry.get('registered_name') or cls}'; "
            "kspec imports Functional and Sequential models"
        )
    known = next((m for m in models if m.name == name), None)
    if known is not None:
        return known
    model = (
        sequential(name, config, models, notes)
        if cls == "Sequential"
        else functional(name, config, models, notes)
    )
    models.append(model)
    return model


def _is_model(entry: dict[str, Any]) -> bool:
    return entry.get("class_name") in MODEL_CLASSES and str(
        entry.get("module", "keras")
    ).startswith("keras")


def _input(entry: dict[str, Any]) -> InputNode:
    config = entry.get("config") or {}
    name = config.get("name") or entry.get("name")
    if config.get("sparse") or config.get("ragged"):
        raise ConfigError(f"input '{name}' is sparse or ragged; a spec's inputs are dense tensors")
    dtype = config.get("dtype", "float32")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name", "float32")
    return InputNode(
        str(name), input_shape(config), None if dtype == "float32" else str(dtype), f"{name}[0][0]"
    )


def sequential(
    name: str, config: dict[str, Any], models: list[ModelNode], notes: Notes
) -> ModelNode:
    model = ModelNode(name, sequential=True)
    entries = list(config.get("layers", []))
    if entries and entries[0].get("class_name") == "InputLayer":
        model.inputs.append(_input(entries.pop(0)))
    elif config.get("build_input_shape"):
        shape = tuple(config["build_input_shape"][1:])
        model.inputs.append(InputNode("input_layer", shape, None, "input_layer[0][0]"))
    else:
        raise ConfigError(
            f"model '{name}' was never built, so its input shape is unknown",
            help="build it (call it on data or give it an Input) before saving",
        )
    prev = model.inputs[0].tensor
    for entry in entries:
        try:
            layer = _layer(entry, models, notes)
        except ConfigError as e:  # go on, to report every layer the spec cannot say
            notes.errors.append(e)
            continue
        out = f"{layer.name}[0][0]"
        model.add(CallNode(layer, prev, {}, [out]))
        prev = out
    model.outputs = [(prev, None)]
    return model


def _layer(entry: dict[str, Any], models: list[ModelNode], notes: Notes) -> LayerNode:
    name = (entry.get("config") or {}).get("name") or entry.get("name")
    if _is_model(entry):
        inner = model_node(entry, models, notes)
        return LayerNode(str(name), None, model=inner.name)
    if is_operation(entry):
        return LayerNode(str(name), op_spec(entry))
    return LayerNode(str(name), layer_spec(entry, notes))


def functional(
    name: str, config: dict[str, Any], models: list[ModelNode], notes: Notes
) -> ModelNode:
    model = ModelNode(name)
    entries = {e.get("name") or e["config"]["name"]: e for e in config["layers"]}
    inputs = {n: _input(e) for n, e in entries.items() if e.get("class_name") == "InputLayer"}
    model.inputs = [inputs[ref[0]] for ref in _refs(config["input_layers"])]
    layers: dict[str, LayerNode] = {}
    nodes: dict[str, tuple[str, int, dict[str, Any]]] = {}  # output tensor prefix -> node
    order: list[tuple[str, int]] = []
    for n, e in entries.items():
        if n in inputs:
            continue
        try:
            layers[n] = _layer(e, models, notes)
        except ConfigError as err:  # go on, to report every layer the spec cannot say
            notes.errors.append(err)
            continue
        for k, node in enumerate(e.get("inbound_nodes", [])):
            nodes[f"{n}[{k}]"] = (n, k, node)
            order.append((n, k))
    done: set[str] = {f"{n}[0]" for n in inputs}

    def visit(key: str) -> None:  # depth first, so each call comes after what it reads
        stack = [key]
        while stack:
            top = stack[-1]
            if top in done:
                stack.pop()
                continue
            n, k, node = nodes[top]
            try:
                call = _call(layers[n], k, node, models)
            except ConfigError as err:
                notes.errors.append(err)
                stack.pop()
                done.add(top)
                continue
            pending = [
                t.rsplit("[", 1)[0] for t in _tensors(call) if t.rsplit("[", 1)[0] not in done
            ]
            if pending:
                stack.extend(reversed(pending))
                continue
            stack.pop()
            done.add(top)
            model.add(call)

    if notes.errors:  # calls would read the layers that failed
        return model
    for n, k in order:
        visit(f"{n}[{k}]")
    outputs = config["output_layers"]
    names = list(outputs) if isinstance(outputs, dict) else None  # Keras 3's dict outputs
    model.outputs = [
        (f"{r[0]}[{r[1]}][{r[2]}]", names[i] if names else str(r[0]))
        for i, r in enumerate(_refs(outputs))
    ]
    return model


def _refs(value: Any) -> list[list[Any]]:
    """Keras writes one input or output as `[name, node, index]`, several as a list of them,
    or (inputs and outputs given as dicts) as a dict of them by name."""
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs(v)]
    if value and isinstance(value[0], str):
        return [value]
    return list(value)


def _tensors(call: CallNode) -> list[str]:
    out = [call.inputs] if isinstance(call.inputs, str) else list(call.inputs)
    for v in call.tensors.values():
        out += [v] if isinstance(v, str) else v
    return out


def _ref(value: Any) -> str | list[str] | None:
    """A serialized tensor (or list of them) as tensor ids; None for anything else."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        layer, node, index = value["config"]["keras_history"]
        return f"{layer}[{node}][{index}]"
    if isinstance(value, list) and value and all(isinstance(_ref(v), str) for v in value):
        return [str(_ref(v)) for v in value]
    return None


def _op_call(layer: LayerNode, spec: OpSpec, index: int, node: dict[str, Any]) -> CallNode:
    """An operation's node: tensors (a list for concatenate), Python numbers kept by position."""
    tensors: list[str] = []
    scalars: list[tuple[int, Any]] = []
    if node.get("kwargs"):
        raise ConfigError(
            f"operation '{layer.name}' is called with keyword arguments "
            f"{', '.join(node['kwargs'])}, which kspec's {spec.op_name()} does not read"
        )
    for i, arg in enumerate(node.get("args", [])):
        ref = _ref(arg)
        if isinstance(ref, list):
            tensors.extend(ref)
        elif ref is not None:
            tensors.append(ref)
        elif constant_operand(arg):
            scalars.append((i, plain(arg) if not isinstance(arg, list) else arg))
        else:
            raise ConfigError(
                f"operation '{layer.name}' is called on {arg!r}, neither a tensor nor a number"
            )
    layer.spec = replace(
        spec, scalars=tuple(scalars), written_as_operator=spec.operator is not None
    )
    count = 1
    if isinstance(spec, Split):
        n = spec.indices_or_sections
        count = n if isinstance(n, int) else len(n) + 1
    outputs = [f"{layer.name}[{index}][{i}]" for i in range(count)]
    return CallNode(layer, tensors, {}, outputs)


def _call(layer: LayerNode, index: int, node: dict[str, Any], models: list[ModelNode]) -> CallNode:
    if isinstance(layer.spec, OpSpec):
        return _op_call(layer, layer.spec, index, node)
    args = [_ref(a) for a in node.get("args", [])]
    if not args or any(a is None for a in args):
        raise ConfigError(f"layer '{layer.name}' is called on something that is not a tensor")
    inputs: str | list[str] = args[0] if len(args) == 1 else [a for a in args if isinstance(a, str)]  # type: ignore[assignment]
    tensors: dict[str, str | list[str]] = {}
    spec = layer.spec
    for key, value in (node.get("kwargs") or {}).items():
        ref = _ref(value)
        if (
            ref is not None
            and spec is not None
            and key in spec.call_inputs
            and isinstance(inputs, list)
        ):
            inputs = [*inputs, *([ref] if isinstance(ref, str) else ref)]
        elif ref is not None:
            tensors[key] = ref
        elif value is not None and not (key == "training" and value is False):
            raise ConfigError(
                f"layer '{layer.name}' is called with {key}={value!r}; "
                "a spec's steps take tensors only"
            )
    count = _output_count(layer, models, node)
    outputs = [f"{layer.name}[{index}][{i}]" for i in range(count)]
    return CallNode(layer, inputs, tensors, outputs)


def _output_count(layer: LayerNode, models: list[ModelNode], node: dict[str, Any]) -> int:
    """How many tensors a call returns: a nested model's outputs, a layer's shape rule."""
    if layer.model is not None:
        inner = next(m for m in models if m.name == layer.model)
        return len(inner.outputs)
    spec = layer.spec
    shapes = [_shape(a) for a in node.get("args", [])]
    if spec is None or not spec.statically_checked or any(s is None for s in shapes):
        return 1
    try:
        x: Any = shapes[0] if len(shapes) == 1 else shapes
        out = spec.compute_output_shape(x)
    except Exception:  # the shape rule needs call-time tensors: one output
        return 1
    return len(out) if isinstance(out, list) else 1


def _shape(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return tuple(value["config"]["shape"][1:])
    if isinstance(value, list):
        inner = [_shape(v) for v in value]
        return None if any(s is None for s in inner) else inner
    return None
