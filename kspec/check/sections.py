"""The data and train sections: field schemas, value kinds, and checks against the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kspec.catalog import KerasObject, LayerSpec, keras_class_of
from kspec.catalog import names as kn
from kspec.catalog.base import describe
from kspec.catalog.datasets import DATASETS, LOADERS
from kspec.catalog.shapes import product
from kspec.check.graph import Graph, Setting
from kspec.check.values import LayerStep
from kspec.codes import Code
from kspec.diagnostics import Diagnostics, suggest
from kspec.source import Span


class FieldError(Exception):
    def __init__(self, message: str, help: str | None = None, code: Code = "bad-field"):
        super().__init__(message)
        self.message, self.help, self.code = message, help, code


def _int(minimum: int) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, int):
            raise FieldError(f"expected an integer, got {describe(v)}", code="wrong-kind")
        if v < minimum:
            raise FieldError(f"must be >= {minimum}, got {v}", code="out-of-range")
        return v

    return check


def _bool(v: Any) -> Any:
    if not isinstance(v, bool):
        raise FieldError(f"expected true or false, got {describe(v)}", code="wrong-kind")
    return v


def _fraction(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise FieldError(f"expected a number, got {describe(v)}", code="wrong-kind")
    if not 0 <= v < 1:
        raise FieldError(f"must be in [0, 1), got {v:g}", code="out-of-range")
    return float(v)


def _number(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise FieldError(f"expected a number, got {describe(v)}", code="wrong-kind")
    return v


def _choice(*options: Any) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if v not in options:
            shown = ", ".join("none" if o is None else str(o).lower() for o in options)
            raise FieldError(
                f"expected one of {shown}, got {describe(v)}",
                help=suggest(str(v), [str(o) for o in options if o]),
                code="bad-choice",
            )
        return v

    return check


def _keras_thing(
    kind: str, functions: tuple[str, ...], classes: tuple[str, ...]
) -> Callable[[Any], Any]:
    lowered = {c.lower(): c for c in classes}

    def check(v: Any) -> Any:
        if isinstance(v, str):
            if v in functions or v.lower() in lowered or v in classes:
                return v
            raise FieldError(
                f"unknown {kind} '{v}'", help=suggest(v, [*functions, *classes]), code="bad-choice"
            )
        if isinstance(v, KerasObject):
            if v.name in classes:
                return v
            raise FieldError(
                f"unknown {kind} '{v.name}'", help=suggest(v.name, classes), code="bad-choice"
            )
        raise FieldError(f"expected a {kind} name or call, got {describe(v)}", code="wrong-kind")

    return check


_optimizer = _keras_thing("optimizer", (), kn.OPTIMIZERS)
_loss_one = _keras_thing("loss", kn.LOSS_FUNCTIONS, kn.LOSS_CLASSES)
_metric_one = _keras_thing("metric", kn.METRIC_FUNCTIONS, kn.METRIC_CLASSES)
_callback = _keras_thing("callback", (), kn.CALLBACKS)


def _per_output(one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: one(x) for k, x in v.items()}
        return one(v)

    return check


def _list_of(one: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: _list_of(one)(x) for k, x in v.items()}
        if not isinstance(v, list | tuple):
            v = [v]
        return [one(x) for x in v]

    return check


def _weights_file(v: Any) -> Any:
    if not isinstance(v, str) or not v.endswith((".keras", ".weights.h5")):
        raise FieldError(
            f"expected the path of a .keras or .weights.h5 file, got {describe(v)}",
            help='e.g. initial_weights = "runs/flowers-1/model.keras"',
            code="wrong-kind",
        )
    return v


def _loss_weights(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _number(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_number(x) for x in v]
    return _number(v)


def _names(v: Any) -> Any:
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise FieldError(f"expected a list of names, got {describe(v)}", code="wrong-kind")
    return list(v)


def _source(v: Any) -> Any:
    if isinstance(v, str):
        if v in DATASETS:
            return v
        if v in LOADERS:
            return KerasObject(v)
        raise FieldError(
            f"unknown data source '{v}'",
            code="bad-choice",
            help=suggest(v, [*DATASETS, *LOADERS])
            or f"use a Keras dataset ({', '.join(DATASETS)}) or a loader: "
            'idx("dir"), npz("f.npz"), csv("f.csv", label=...), synthetic(samples=N)',
        )
    if isinstance(v, KerasObject) and v.name in LOADERS:
        return _loader_args(v)
    shown = v.name if isinstance(v, KerasObject) else describe(v)
    raise FieldError(
        f"unknown data source {shown}",
        help=suggest(str(shown), [*DATASETS, *LOADERS]),
        code="bad-choice",
    )


def _loader_args(v: KerasObject) -> KerasObject:
    params = LOADERS[v.name].args
    names = [p.name for p in params]
    if len(v.args) > len(params):
        raise FieldError(f"{v.name}() takes at most {len(params)} arguments, got {len(v.args)}")
    bound = dict(zip(names, v.args, strict=False))
    for k, x in v.kwargs:
        if k not in names:
            raise FieldError(
                f"{v.name}() has no argument '{k}'", help=suggest(k, names), code="unknown-argument"
            )
        bound[k] = x
    for p in params:
        if p.name not in bound:
            if p.default is ...:
                raise FieldError(
                    f"{v.name}() needs '{p.name}'", help=f'{v.name}("...")', code="missing-argument"
                )
            continue
        x = bound[p.name]
        ok = {
            "str": isinstance(x, str),
            "int": isinstance(x, int) and not isinstance(x, bool),
            "bool": isinstance(x, bool),
            "pair": isinstance(x, tuple) and len(x) == 2,
            "names": isinstance(x, list | tuple),
            "float": isinstance(x, int | float),
            "any": True,
        }[p.kind] or x is None
        if not ok:
            raise FieldError(
                f"{v.name}(): {p.name} has the wrong kind: {describe(x)}", code="wrong-kind"
            )
    return KerasObject(v.name, (), tuple(bound.items()))


def _model_name(v: Any) -> Any:
    if not isinstance(v, str):
        raise FieldError(f"expected a model name, got {describe(v)}", code="wrong-kind")
    return v


def _augment(v: Any) -> Any:
    if not isinstance(v, list | tuple):
        v = [v]
    out = []
    for x in v:
        if isinstance(x, LayerStep):
            x = x.spec
        if not isinstance(x, LayerSpec):
            raise FieldError(
                f"augment takes layers such as RandomFlip(horizontal), got {describe(x)}",
                code="wrong-kind",
            )
        out.append(x)
    return out


DATA_FIELDS: dict[str, Callable[[Any], Any]] = {
    "source": _source,
    "scale": _number,
    "validation_split": _fraction,
    "shuffle": _bool,
    "cache": _bool,
    "augment": _augment,
    "feed": _choice("arrays", "batches"),
    "inputs": _names,
    "outputs": _names,
}
TRAIN_FIELDS: dict[str, Callable[[Any], Any]] = {
    "model": _model_name,
    "optimizer": _optimizer,
    "loss": _per_output(_loss_one),
    "loss_weights": _loss_weights,
    "metrics": _list_of(_metric_one),
    "batch_size": _int(1),
    "epochs": _int(1),
    "steps_per_execution": lambda v: v if v == "auto" else _int(1)(v),
    "callbacks": _list_of(_callback),
    "seed": _int(0),
    "jit_compile": lambda v: v if v == "auto" else _bool(v),
    "mixed_precision": _bool,
    "distribute": _choice(None, "none", "mirrored", "multi_worker"),
    "initial_weights": _weights_file,
}
SECTION_FIELDS = {"data": DATA_FIELDS, "train": TRAIN_FIELDS}


def check_field(section: str, name: str, value: Any, span: Span, diags: Diagnostics) -> Any:
    fields = SECTION_FIELDS[section]
    if name not in fields:
        diags.error(
            f"unknown {section} field '{name}'",
            span,
            code="unknown-field",
            help=suggest(name, fields) or f"{section} fields: {', '.join(fields)}",
        )
        return None
    try:
        return fields[name](value)
    except FieldError as e:
        diags.error(f"{section}.{name}: {e.message}", span, code=e.code, help=e.help)
        return None


# -- cross-checks: the three sections read together -------------------------------------------
def check_against_model(
    graph: Graph, data: dict[str, Setting], train: dict[str, Setting], diags: Diagnostics
) -> None:
    source = data.get("source")
    _check_feed(data, source, diags)
    dataset = DATASETS.get(source.value) if source and isinstance(source.value, str) else None
    if dataset is not None and dataset.x is not None and len(graph.inputs) == 1:
        _check_input_fits(graph, str(source.value), dataset.x, source.span, diags)  # type: ignore[union-attr]
    loss = train.get("loss")
    if loss is None or not graph.outputs:
        return
    labels, source_name = _label_format(source)
    losses = loss.value if isinstance(loss.value, dict) else {None: loss.value}
    names = [n or t.layer.name for n, t in zip(graph.output_names, graph.outputs, strict=True)]
    for key, value in losses.items():
        if key is not None and key not in names:
            diags.error(
                f"loss for unknown output '{key}'",
                loss.span,
                code="unknown-output",
                help=suggest(str(key), names) or f"outputs: {', '.join(names)}",
            )
            continue
        out = graph.outputs[names.index(key)] if key is not None else graph.outputs[0]
        if key is None and len(graph.outputs) > 1:
            continue
        single = len(graph.outputs) == 1
        classes = dataset.classes if dataset is not None and single else None
        _check_loss(value, out, classes, loss.span, diags)
        if single and labels == "index":
            _check_index_labels(value, source_name, loss.span, diags)


def _check_feed(data: dict[str, Setting], source: Setting | None, diags: Diagnostics) -> None:
    """`feed = batches` prepares arrays per batch; directory sources and augmentation already go
    through tf.data, batch by batch."""
    feed = data.get("feed")
    if feed is None or feed.value != "batches":
        return
    name = source.value.name if source and isinstance(source.value, KerasObject) else None
    if name in ("images", "text"):
        diags.error(
            f"feed = batches is for array sources; {name}() already reads its files batch by batch",
            feed.span,
            code="bad-field",
            help="remove `feed = batches`",
        )
    elif data.get("augment") and data["augment"].value:
        diags.error(
            "feed = batches does not take augment: augmented batches already go through a "
            "tf.data pipeline",
            feed.span,
            code="bad-field",
            help="remove `feed = batches`, or the augment layers",
        )


def _label_format(source: Setting | None) -> tuple[str | None, str]:
    """What the source's labels are (catalog/datasets.py says), and the source's name."""
    if source is None:
        return None, ""
    if isinstance(source.value, str) and source.value in DATASETS:
        return DATASETS[source.value].labels, source.value
    if isinstance(source.value, KerasObject) and source.value.name in LOADERS:
        return LOADERS[source.value.name].labels, f"{source.value.name}()"
    return None, ""


def _check_index_labels(value: Any, source: str, span: Span, diags: Diagnostics) -> None:
    """categorical_crossentropy wants one-hot labels; these sources yield class indices, and
    Keras would fail at the first step with a shape error."""
    name = value if isinstance(value, str) else value.name if isinstance(value, KerasObject) else ""
    key = name.lower().replace("_", "")
    if key in ("categoricalcrossentropy", "categoricalfocalcrossentropy"):
        sparse = "sparse_categorical_crossentropy"
        diags.error(
            f"{name} takes one-hot labels, but the labels of {source} are class indices "
            "(one number per example)",
            span,
            code="loss-mismatch",
            help=f"use loss = {sparse} (the same loss, on class indices), or one-hot labels",
        )


def _check_input_fits(
    graph: Graph, name: str, x: tuple[int | None, ...], span: Span, diags: Diagnostics
) -> None:
    want = graph.inputs[0].shape
    if want is None:
        return
    same = len(want) == len(x) and all(
        a is None or b is None or a == b for a, b in zip(want, x, strict=True)
    )
    n_have, n_want = product(x), product(want)
    if same or (n_have is not None and n_have == n_want):
        return  # equal, or a reshape the runner does for the user: (28, 28) -> (28, 28, 1)
    declared, given = _spec_shape(want), _spec_shape(x)
    diags.error(
        f"input '{graph.inputs[0].layer.name}' is declared {declared}, but {name} examples "
        f"are {given}",
        span,
        code="data-mismatch",
        help=f"declare the input as {given} or {_spec_shape((*x, 1))}, or use another source",
    )


def _spec_shape(shape: tuple[int | None, ...]) -> str:
    """A shape as a spec declares it: no batch axis, `none` for unknown sizes."""
    dims = ", ".join("none" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def _output_activation(out: Any) -> str | None:
    spec = out.layer.spec
    if not isinstance(spec, LayerSpec):
        return None
    name = keras_class_of(spec).rsplit(".", 1)[-1]  # also for uncatalogued and `use`d layers
    if name == "Softmax":
        return "softmax"
    act = getattr(spec, "activation", None)
    return act if isinstance(act, str) else None


def _check_loss(value: Any, out: Any, classes: int | None, span: Span, diags: Diagnostics) -> None:
    name = value if isinstance(value, str) else value.name if isinstance(value, KerasObject) else ""
    kwargs = value.kwargs_dict() if isinstance(value, KerasObject) else {}
    key = name.lower().replace("_", "")
    units = out.shape[-1] if out.shape else None
    activation = _output_activation(out)
    if kwargs.get("from_logits") is True and activation in ("softmax", "sigmoid"):
        diags.warning(
            f"from_logits=true but the output already applies {activation}",
            span,
            code="logits-after-softmax",
            help=f"remove activation={activation} from the last layer, or drop from_logits",
        )
    if key == "sparsecategoricalcrossentropy" and units is not None:
        if units == 1:
            diags.error(
                f"{name} needs one output unit per class, but the output has 1",
                span,
                code="loss-mismatch",
                help="use binary_crossentropy with a sigmoid output, or Dense(classes)",
            )
        elif classes is not None and units < classes:
            diags.error(
                f"{name} on {units} output units, but the data has {classes} classes",
                span,
                code="loss-mismatch",
                help=f"make the last layer Dense({classes}, ...)",
            )
    binary = key in ("binarycrossentropy", "binaryfocalcrossentropy")
    if binary and units not in (None, 1) and (classes is None or classes > 2):
        diags.error(
            f"{name} expects one output unit per label, but the output has {units} and "
            f"labels are class indices",
            span,
            code="loss-mismatch",
            help="use sparse_categorical_crossentropy for class indices",
        )
    if (
        key == "categoricalcrossentropy"
        and classes is not None
        and units is not None
        and units != classes
    ):
        diags.error(
            f"{name} on {units} output units, but the data has {classes} classes",
            span,
            code="loss-mismatch",
            help=f"make the last layer Dense({classes}, ...)",
        )
