"""`kspec import` and kspec.from_keras: an existing Keras model -> a readable spec.

Only the model's config JSON is read (a .keras file is a zip holding config.json); no code from
the file runs and the model is never loaded: Lambda layers and custom classes are errors that
name the layer, as Keras's safe_mode refuses them. Models nested in the model become models of
their own in the spec, before the model that uses them.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from kspec.catalog import LayerSpec
from kspec.catalog import names as keras_names
from kspec.catalog.base import CALL_OPTIONS
from kspec.catalog.opbase import OpSpec
from kspec.catalog.ops_shape import Flip, Split
from kspec.check.ops import constant_operand
from kspec.diagnostics import Diagnostic, KspecError
from kspec.files import NotRegular, read_regular
from kspec.interop import reader
from kspec.interop.applications import recognise
from kspec.interop.emit import CallNode, InputNode, LayerNode, ModelNode, write_spec
from kspec.interop.keras_config import (
    Notes,
    argument_name,
    entry_name,
    input_shape,
    is_operation,
    layer_spec,
    op_spec,
    plain,
    shown,
)
from kspec.interop.reader import ConfigError, DecodeError, Field, decode
from kspec.source import Span
from kspec.syntax.layout import string_literal
from kspec.syntax.parse import paused_gc
from kspec.syntax.printer import print_spec

MODEL_CLASSES = ("Functional", "Sequential", "Model")
MAX_ENTRY_RATIO = 100  # a zip entry inflating more than this is refused (a zip bomb)


def import_file(path: str | Path) -> str:
    """The spec text for a .keras file or a model config .json file."""
    p = Path(path)
    with paused_gc():  # a big model's JSON is millions of young objects (bench/README.md)
        return config_to_text(read_config(p), _printable(p.name))


def read_config(path: Path) -> Any:
    """The decoded JSON of a model file: a regular file (not a FIFO or a device) of at most
    reader.MAX_FILE_BYTES, or a .keras zip whose config.json entry is one."""
    if path.suffix == ".h5":
        raise _file_error(
            path,
            "is in the legacy HDF5 format; kspec reads .keras files",
            "open it in Keras and save it with model.save('model.keras')",
        )
    try:
        with read_regular(path) as f:
            if zipfile.is_zipfile(f):
                text = _zip_config(path, f)
            else:
                f.seek(0)
                text = f.read(reader.MAX_FILE_BYTES + 1)
    except NotRegular as e:
        raise _file_error(path, str(e)) from None
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise _file_error(path, f"cannot be read: {getattr(e, 'strerror', None) or e}") from None
    try:
        return decode(text)
    except DecodeError as e:
        raise _file_error(path, str(e)) from None


def _zip_config(path: Path, f: BinaryIO) -> bytes:
    try:
        z = zipfile.ZipFile(f)
        info = z.getinfo("config.json")
    except KeyError:
        raise _file_error(path, "is a zip file without config.json, not a .keras model") from None
    if info.flag_bits & 0x1:
        raise _file_error(path, "holds an encrypted config.json; Keras never encrypts it")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _file_error(
            path,
            f"holds config.json compressed with method {info.compress_type}; Keras writes "
            "it stored or deflated",
        )
    if info.file_size > reader.MAX_FILE_BYTES or info.file_size > MAX_ENTRY_RATIO * max(
        info.compress_size, 1 << 16
    ):
        raise _file_error(
            path, f"holds a config.json larger than {reader.MAX_FILE_BYTES >> 20} MiB"
        )
    with z.open(info) as entry:
        data = entry.read(reader.MAX_FILE_BYTES + 1)
    if len(data) > reader.MAX_FILE_BYTES:
        raise _file_error(
            path, f"holds a config.json larger than {reader.MAX_FILE_BYTES >> 20} MiB"
        )
    return data


def _file_error(path: Path, message: str, help: str | None = None) -> KspecError:
    where = _printable(str(path))
    return KspecError(
        [Diagnostic("import-error", f"{where} {message}", Span(0, 0, 0, 0, where), help)]
    )


def _printable(text: str) -> str:
    """A file or model name as a diagnostic or a comment shows it: on one line."""
    return text if text.isprintable() else string_literal(text)[1:-1]


def import_json(text: str | bytes, origin: str) -> str:
    """The spec text for a model config's JSON text (what a .json model file holds)."""
    with paused_gc():
        try:
            data = decode(text)
        except DecodeError as e:
            raise KspecError(
                [Diagnostic("import-error", f"{origin} {e}", Span(0, 0, 0, 0, origin))]
            ) from None
        return config_to_text(data, origin)


def from_keras_model(model: Any) -> str:
    """The spec text for a keras.Model (read through its config, as from a file)."""
    name = _printable(str(model.name))
    return config_to_text(json.loads(model.to_json()), f"the Keras model '{name}'")


def config_to_text(data: Any, origin: str) -> str:
    root = Field(data)
    models: list[ModelNode] = []
    notes = Notes()
    try:
        root.as_object()
        entry = root if root.has("class_name") else _bare_config(root)
        model_node(entry, models, notes)
        if notes.errors:
            raise notes.errors[0]
        text = print_spec(write_spec(models))
    except RecursionError:  # values compared whole (Bidirectional's layers) nest too deep
        raise KspecError(
            [
                Diagnostic(
                    "import-error", f"{origin} nests values too deep", Span(0, 0, 0, 0, origin)
                )
            ]
        ) from None
    except ValueError as e:  # the printer refuses a name that is not a NAME: a kspec bug
        raise KspecError([Diagnostic("cannot-import", str(e), Span(0, 0, 0, 0, origin))]) from None
    except ConfigError as e:
        errors = notes.errors or [e]
        raise KspecError(
            [
                Diagnostic("import-error", x.message, Span(0, 0, 0, 0, origin), x.help)
                for x in errors
            ]
        ) from None
    if root.value.get("compile_config"):
        notes.items.append(
            "the model was compiled; its optimizer, loss and metrics are not "
            "imported: write them in a train { ... } section"
        )
    header = [f"# imported from {origin} by kspec import"]
    header += [f"# note: {n}" for n in dict.fromkeys(notes.items)]
    return "\n".join(header) + "\n" + text


def _bare_config(data: Field) -> Field:
    """A get_config() dict without the class wrapper around it."""
    cls = "Functional" if data.has("input_layers") else "Sequential"
    return Field({"class_name": cls, "config": data.value})


def model_node(entry: Field, models: list[ModelNode], notes: Notes) -> ModelNode:
    """The model (and before it, in `models`, every model nested in it)."""
    cls = entry["class_name"].as_str()
    config = entry["config"]
    config.as_object()
    name = entry_name(entry, "model")
    registered = entry["registered_name"].opt_str()
    if cls not in MODEL_CLASSES or registered not in (None, cls):
        raise ConfigError(
            f"model '{name}' has the custom class '{shown(registered or cls)[1:-1]}'; "
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
    _preprocess_steps(model)
    models.append(model)
    return model


def _preprocess_steps(model: ModelNode) -> None:
    """`PreprocessInput(X)` for what the checker spells it as (a Rescaling, after an
    ops.flip for Caffe's mode) where it feeds an application X of that family alone."""
    from kspec.catalog.applications import Application
    from kspec.catalog.applications.preprocess import PreprocessInput

    producer = {t: c for c in model.calls for t in c.outputs}
    readers: dict[str, int] = {}
    for c in model.calls:
        for t in [c.inputs] if isinstance(c.inputs, str) else c.inputs:
            readers[t] = readers.get(t, 0) + 1
    for call in list(model.calls):
        spec = call.layer.spec
        if not isinstance(spec, Application) or not isinstance(call.inputs, str):
            continue
        pre = PreprocessInput.create((spec.layer_name(),))
        before = _only_reader(producer.get(call.inputs), readers)
        if pre.mode is None or before is None or not _same_layer(before.layer.spec, pre.layer()):
            continue
        if pre.flips_channels:
            flip = producer.get(before.inputs) if isinstance(before.inputs, str) else None
            flipped = Flip.create([], {"axis": -1})
            if (
                flip is None
                or not isinstance(flip.layer.spec, Flip)
                or flip.layer.spec.keras_kwargs() != flipped.keras_kwargs()
                or len(flip.outputs) != 1
                or readers.get(flip.outputs[0]) != 1
            ):
                continue
            source = flip.inputs if isinstance(flip.inputs, str) else flip.inputs[0]
            before.inputs = source
            model.calls.remove(flip)
        before.layer.spec = pre


def _only_reader(call: CallNode | None, readers: dict[str, int]) -> CallNode | None:
    """`call` when it is a layer's only call, on one tensor, and one step reads its output."""
    if call is None or call.layer.calls != 1 or not isinstance(call.inputs, str):
        return None
    if len(call.outputs) != 1 or readers.get(call.outputs[0]) != 1 or call.tensors:
        return None
    return call


def _same_layer(spec: LayerSpec | None, want: LayerSpec) -> bool:
    """The same class and arguments, numbers to float32 precision (configs store float32)."""
    if spec is None or type(spec) is not type(want):
        return False
    mine, theirs = spec.arguments(), want.arguments()
    if mine.keys() != theirs.keys():
        return False
    for k, v in theirs.items():
        a = mine[k] if isinstance(mine[k], tuple) else (mine[k],)
        b = v if isinstance(v, tuple) else (v,)
        if len(a) != len(b) or not all(
            isinstance(x, int | float) and abs(x - y) <= 1e-6 * max(1.0, abs(y))
            for x, y in zip(a, b, strict=True)
        ):
            return False
    return True


def _is_model(entry: Field) -> bool:
    return entry["class_name"].as_str() in MODEL_CLASSES and (
        entry["module"].opt_str() or "keras"
    ).startswith("keras")


def _input(entry: Field) -> InputNode:
    config = entry["config"]
    config.as_object()
    name = entry_name(entry)
    if config["sparse"].as_bool() or config["ragged"].as_bool():
        raise ConfigError(f"input '{name}' is sparse or ragged; a spec's inputs are dense tensors")
    dtype = _dtype(config["dtype"])
    return InputNode(
        name, input_shape(config), None if dtype == "float32" else dtype, f"{name}[0][0]"
    )


def _dtype(f: Field) -> str:
    """An input's dtype: a name a spec's `input x: (...) as DTYPE` accepts."""
    if f.value is None:
        return "float32"
    if isinstance(f.value, dict):  # a dtype policy: its name is the dtype
        if f["class_name"].as_str() not in ("DTypePolicy", "FloatDTypePolicy"):
            f["class_name"].fail(f"{shown(f['class_name'].value)} is not a Keras dtype policy")
        name = f["config"]["name"]
        if name.value is None:
            name.expected("a dtype name")
        return _dtype(name)
    dtype = f.as_str()
    if dtype not in keras_names.DTYPES:
        f.fail(
            f"{shown(dtype)} is not a dtype a spec's input takes",
            help=f"a spec's inputs are one of {', '.join(keras_names.DTYPES)}",
        )
    return dtype


def _unique(names: list[str], field: Field) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            Field(None, field, i).fail(f"a second layer named '{n}'")
        seen.add(n)


def sequential(name: str, config: Field, models: list[ModelNode], notes: Notes) -> ModelNode:
    model = ModelNode(name, sequential=True)
    entries = list(config["layers"].each()) if config.has("layers") else []
    names = [entry_name(e) for e in entries]
    _unique(names, config["layers"])
    if entries and entries[0]["class_name"].value == "InputLayer":
        model.inputs.append(_input(entries.pop(0)))
        names.pop(0)
    elif config.has("build_input_shape"):
        shape = config["build_input_shape"]
        if not shape.as_list():
            shape.fail("expected a shape with a batch axis, got an empty list")
        model.inputs.append(InputNode("input_layer", shape.shape()[1:], None, "input_layer[0][0]"))
    else:
        raise ConfigError(
            f"model '{name}' was never built, so its input shape is unknown",
            help="build it (call it on data or give it an Input) before saving",
        )
    prev = model.inputs[0].tensor
    for entry, layer_name in zip(entries, names, strict=True):
        try:
            layer = _layer(entry, models, notes, layer_name)
        except ConfigError as e:  # go on, to report every layer the spec cannot say
            notes.errors.append(e)
            continue
        if entry["class_name"].value == "InputLayer":
            notes.errors.append(ConfigError(f"{entry.path}: an InputLayer after the first layer"))
            continue
        out = f"{layer.name}[0][0]"
        model.add(CallNode(layer, prev, {}, [out]))
        prev = out
    model.outputs = [(prev, None)]
    return model


def _layer(entry: Field, models: list[ModelNode], notes: Notes, name: str) -> LayerNode:
    config = entry["config"]
    trainable = config["trainable"].as_bool(True) if config.has("trainable") else True
    if _is_model(entry):
        application = recognise(entry) if _uniformly(config, trainable) else None
        if application is not None:  # `MobileNetV2(include_top=false, ...)`, not its layers
            return LayerNode(name, application, trainable=trainable)
        inner = model_node(entry, models, notes)
        if not trainable:  # `base(trainable=false)` freezes every layer inside: said once
            for call in inner.calls:
                call.layer.trainable = True
        return LayerNode(name, None, model=inner.name, trainable=trainable)
    if is_operation(entry):
        return LayerNode(name, op_spec(entry))
    return LayerNode(name, layer_spec(entry, notes, name), trainable=trainable)


def _uniformly(config: Field, trainable: bool) -> bool:
    """Whether every layer of a nested model is as trainable as the model (an application
    step has one flag; a partly frozen one stays a nested model, which keeps each)."""
    if not config.has("layers"):
        return False
    for e in config["layers"].each():
        inner = e["config"]
        if inner.has("trainable") and inner["trainable"].as_bool(True) != trainable:
            return False
    return True


def functional(name: str, config: Field, models: list[ModelNode], notes: Notes) -> ModelNode:
    model = ModelNode(name)
    listed = list(config["layers"].each())
    _unique([entry_name(e) for e in listed], config["layers"])
    entries = {entry_name(e): e for e in listed}
    inputs = {n: _input(e) for n, e in entries.items() if e["class_name"].value == "InputLayer"}
    for ref, f in _refs(config["input_layers"]):
        if ref[0] not in inputs:
            f.fail(f"names '{ref[0]}', which is not an InputLayer of the model")
        model.inputs.append(inputs[ref[0]])
    layers: dict[str, LayerNode] = {}
    nodes: dict[str, tuple[str, int, Field]] = {}  # output tensor prefix -> node
    order: list[tuple[str, int]] = []
    for n, e in entries.items():
        if n in inputs:
            continue
        try:
            layers[n] = _layer(e, models, notes, n)
            for k, node in enumerate(e["inbound_nodes"].each() if e.has("inbound_nodes") else []):
                node.as_object()
                nodes[f"{n}[{k}]"] = (n, k, node)
                order.append((n, k))
        except ConfigError as err:  # go on, to report every layer the spec cannot say
            notes.errors.append(err)
    if notes.errors:  # calls would read the layers that failed
        return model
    if not model.inputs:
        config["input_layers"].fail("expected at least one input, got none")
    done: set[str] = {i.tensor.rsplit("[", 1)[0] for i in model.inputs}  # only listed inputs
    produced: set[str] = {i.tensor for i in model.inputs}
    entered: set[str] = set()

    def visit(key: str) -> None:  # depth first, so each call comes after what it reads
        stack = [key]
        while stack:
            top = stack[-1]
            if top in done:
                stack.pop()
                continue
            n, k, node = nodes[top]
            call = _call(layers[n], k, node, models)
            pending = []
            for t in _tensors(call):
                prefix = t.rsplit("[", 1)[0]
                if prefix in done:
                    continue
                if prefix not in nodes:
                    node.fail(
                        f"reads the tensor {t} of layer '{prefix.rsplit('[', 1)[0]}', "
                        "which the model does not have"
                    )
                if prefix == top or prefix in entered:
                    cycle = [nodes[s][0] for s in stack[stack.index(prefix) :]] + [nodes[prefix][0]]
                    node.fail(
                        f"the layers form a cycle ({' -> '.join(cycle)}); a model's graph has none"
                    )
                pending.append(prefix)
            if pending:
                entered.add(top)
                stack.extend(reversed(pending))
                continue
            stack.pop()
            entered.discard(top)
            done.add(top)
            model.add(call)
            produced.update(call.outputs)
            for t in _tensors(call):
                if t not in produced:
                    node.fail(f"reads the tensor {t}, which layer '{n}' does not make")

    for n, k in order:
        visit(f"{n}[{k}]")
    outputs = config["output_layers"]
    names = list(outputs.value) if isinstance(outputs.value, dict) else None  # dict outputs
    model.outputs = []
    for i, (r, f) in enumerate(_refs(outputs)):
        t = f"{r[0]}[{r[1]}][{r[2]}]"
        nested = layers.get(r[0])
        if t not in produced and nested is not None and (nested.model or _is_app(nested)):
            # Keras counts a nested model's own first node in output_layers (not elsewhere)
            t = f"{r[0]}[{r[1] - 1}][{r[2]}]"
        if t not in produced:
            f.fail(f"names the tensor {r[0]}[{r[1]}][{r[2]}], which the model does not make")
        model.outputs.append((t, names[i] if names else r[0]))
    if not model.outputs:
        outputs.fail("expected at least one output, got none")
    return model


def _is_app(layer: LayerNode) -> bool:
    return layer.spec is not None and layer.spec.takes_input_shape


def _refs(f: Field) -> list[tuple[tuple[str, int, int], Field]]:
    """Keras writes one input or output as `[name, node, index]`, several as a list of them,
    or (inputs and outputs given as dicts) as a dict of them by name."""
    if isinstance(f.value, dict):
        return [r for _, v in f.items() for r in _refs(v)]
    items = f.as_list()
    if items and isinstance(items[0], str):
        return [(_history(f), f)]
    return [(_history(g), g) for g in f.each()]


def _history(f: Field) -> tuple[str, int, int]:
    """`[layer name, node index, tensor index]`."""
    items = list(f.each())
    if len(items) != 3:
        f.expected("[layer name, node index, tensor index]")
    name, node, index = items
    return name.name(), _index(node), _index(index)


def _index(f: Field) -> int:
    v = f.as_int()
    if not 0 <= v < 2**31:
        f.fail(f"{v} is not an index")
    return v


def _tensors(call: CallNode) -> list[str]:
    out = [call.inputs] if isinstance(call.inputs, str) else list(call.inputs)
    for v in call.tensors.values():
        out += [v] if isinstance(v, str) else v
    return out


def _is_tensor(f: Field) -> bool:
    return isinstance(f.value, dict) and f.value.get("class_name") == "__keras_tensor__"


def _ref(f: Field) -> str | list[str] | None:
    """A serialized tensor (or list of them) as tensor ids; None for anything else."""
    if _is_tensor(f):
        layer, node, index = _history(f["config"]["keras_history"])
        return f"{layer}[{node}][{index}]"
    if isinstance(f.value, list) and f.value and all(_is_tensor(g) for g in f.each()):
        return [str(_ref(g)) for g in f.each()]
    return None


def _op_call(layer: LayerNode, spec: OpSpec, index: int, node: Field) -> CallNode:
    """An operation's node: tensors (a list for concatenate), Python numbers kept by position."""
    tensors: list[str] = []
    scalars: list[tuple[int, Any]] = []
    kwargs = node["kwargs"].object_or_empty()
    if kwargs:
        raise ConfigError(
            f"operation '{layer.name}' is called with keyword arguments "
            f"{shown(', '.join(kwargs))[1:-1]}, which kspec's {spec.op_name()} does not read"
        )
    for i, arg in enumerate(node["args"].each() if node.has("args") else []):
        ref = _ref(arg)
        if isinstance(ref, list):
            tensors.extend(ref)
        elif ref is not None:
            tensors.append(ref)
        elif constant_operand(arg.value) and not isinstance(arg.value, dict):
            scalars.append((i, plain(arg)))
        else:
            raise ConfigError(
                f"operation '{layer.name}' is called on {shown(arg.value)}, neither a tensor nor "
                "a number"
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


def _call(layer: LayerNode, index: int, node: Field, models: list[ModelNode]) -> CallNode:
    if isinstance(layer.spec, OpSpec):
        return _op_call(layer, layer.spec, index, node)
    args = [_ref(a) for a in (node["args"].each() if node.has("args") else [])]
    if not args or any(a is None for a in args):
        raise ConfigError(f"layer '{layer.name}' is called on something that is not a tensor")
    inputs: str | list[str] = args[0] if len(args) == 1 else [a for a in args if isinstance(a, str)]  # type: ignore[assignment]
    tensors: dict[str, str | list[str]] = {}
    options: dict[str, bool] = {}
    spec = layer.spec
    for key, value in node["kwargs"].items() if node.has("kwargs") else []:
        ref = _ref(value)
        if (
            ref is not None
            and spec is not None
            and key in spec.call_inputs
            and isinstance(inputs, list)
        ):
            inputs = [*inputs, *([ref] if isinstance(ref, str) else ref)]
        elif ref is not None:
            tensors[argument_name(value, key)] = ref
        elif value.value is not None and not _keras_default(spec, key, value.value):
            allowed = CALL_OPTIONS if spec is None else spec.call_option_names()
            if key not in allowed or not isinstance(value.value, bool):
                raise ConfigError(
                    f"layer '{layer.name}' is called with {shown(key)[1:-1]}="
                    f"{shown(value.value)}; a spec's steps take tensors and "
                    f"{', '.join(f'{o}=true/false' for o in allowed)}"
                )
            options[key] = value.value
    count = _output_count(layer, models, node)
    outputs = [f"{layer.name}[{index}][{i}]" for i in range(count)]
    return CallNode(layer, inputs, tensors, outputs, options=options)


def _keras_default(spec: LayerSpec | None, key: str, value: Any) -> bool:
    """True for what Keras writes into a config when the call gave nothing: call()'s own
    `training` default (True for the augmentation layers, False for Dropout and the RNNs)."""
    if key != "training":
        return False
    default = None if spec is None else spec.training_default
    return value is default  # None: Keras writes nothing, so a value there was given


def _output_count(layer: LayerNode, models: list[ModelNode], node: Field) -> int:
    """How many tensors a call returns: a nested model's outputs, a layer's shape rule."""
    if layer.model is not None:
        inner = next(m for m in models if m.name == layer.model)
        return len(inner.outputs)
    spec = layer.spec
    shapes = [_shape(a) for a in (node["args"].each() if node.has("args") else [])]
    if spec is None or not spec.statically_checked or any(s is None for s in shapes):
        return 1
    try:
        x: Any = shapes[0] if len(shapes) == 1 else shapes
        out = spec.compute_output_shape(x)
    except Exception:  # the shape rule needs call-time tensors: one output
        return 1
    return len(out) if isinstance(out, list) else 1


def _shape(f: Field) -> Any:
    if _is_tensor(f):
        shape = f["config"]["shape"]
        return shape.shape()[1:] if shape.as_list() else None
    if isinstance(f.value, list):
        inner = [_shape(v) for v in f.each()]
        return None if any(s is None for s in inner) else inner
    return None
