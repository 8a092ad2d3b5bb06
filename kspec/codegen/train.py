"""The data and train sections as template context: what `kspec run` does, to be written out.

The generated script loads, splits, batches and prepares the data, seeds, compiles and fits
exactly as kspec/run/data.py, sources.py and train.py do, so that one epoch of the script
and of `kspec run` give the same loss. This module decides what the script needs (which loader,
which conversions); the templates in templates/sources/ write it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from kspec.catalog import KerasObject
from kspec.catalog.datasets import DATASETS, KERAS_DATASETS, LOADERS
from kspec.check.graph import Checked, Graph
from kspec.check.settings import (
    DataOptions,
    Port,
    TrainSettings,
    feed_dtype,
    signature_of_graph,
    stages,
)
from kspec.codegen.paths import data_path as _path
from kspec.codegen.phases import flag_statements
from kspec.codegen.pycode import layout
from kspec.codegen.pyliteral import Code, py_literal
from kspec.codegen.pynames import SCRIPT_NAMES, Classes, Names
from kspec.syntax import ir

SEQUENCE_DATASETS = ("imdb", "reuters")  # id lists, padded to the input's length
COLUMN_LABELS = ("cifar10", "cifar100")  # labels come as (n, 1)


def train_context(checked: Checked, graph: Graph, classes: Classes, spell: Spell) -> dict[str, Any]:
    """`data` and `train` for script.py.j2 (docs/codegen.md)."""
    signature = signature_of_graph(graph, checked.train)
    options = DataOptions.from_section(checked.data)
    settings = TrainSettings.of(checked.train, None)
    data = data_context(checked, signature, options, classes)
    train = _train(checked, graph, settings, classes, data, options)
    for section, ctx, fields in (
        ("data", data, ("scale", "validation_split")),
        ("train", train, ("epochs", "batch_size", "seed")),
    ):
        for name in fields:
            written = _written_field(checked, section, name)
            setting = (checked.data if section == "data" else checked.train).get(name)
            if written is not None and setting is not None and ctx.get(name) is not None:
                ctx[name] = spell(written, setting.value)
    return {"data": data, "train": train}


Spell = Callable[[ir.Expr, Any], str]


def _written_field(checked: Checked, section: str, name: str) -> ir.Expr | None:
    """A data/train field's expression in the spec file (None when --set gave the value)."""
    setting = (checked.data if section == "data" else checked.train).get(name)
    if setting is None or setting.span.path != checked.path:
        return None
    for item in checked.spec.items:
        if isinstance(item, ir.Section) and item.kind == section:
            for f in item.fields:
                if f.name == name:
                    return f.value
    return None


def statement(text: str, depth: int = 0) -> list[str]:
    """One statement of a function body, laid out as ruff keeps it; lines relative to the body."""
    return [line[4:] for line in layout(text, 4 * (depth + 1))]


# -- data -------------------------------------------------------------------------------------
def data_context(
    checked: Checked, signature: Any, options: DataOptions, classes: Classes
) -> dict[str, Any]:
    setting = checked.data.get("source")
    source = setting.value if setting is not None else KerasObject("synthetic")
    name = source if isinstance(source, str) else source.name
    args = _loader_args(source)
    from_file = setting is not None and setting.span.path == checked.path
    local = Names({"x", "y", *SCRIPT_NAMES})  # prepare()'s variables
    augment = [py_literal(classes.literal(spec)) for spec in options.augment]
    seed = TrainSettings.of(checked.train, None).seed
    inputs = [_input(p, local, name, source, options) for p in signature.inputs]
    outputs = [
        {"key": py_literal(p.name), "var": local.fresh(_var(p.name))} for p in signature.outputs
    ]
    ctx: dict[str, Any] = {
        "kind": _kind(name),
        "name": name,
        "inputs": inputs,
        "outputs": outputs,
        "single_input": len(inputs) == 1,
        "single_output": len(outputs) == 1,
        "scale": py_literal(options.scale) if options.scale is not None else None,
        "validation_split": py_literal(options.validation_split)
        if options.validation_split
        else None,
        "shuffle": options.shuffle,
        "cache": options.cache,
        "augment": augment,
        "augment_inputs": [py_literal(p.name) for p in signature.inputs if len(p.shape) == 3],
        "dataset": name in ("images", "text"),
        "uses_test": name in ("images", "text")
        or (
            not options.validation_split and (name in KERAS_DATASETS or name == "idx")
        ),  # a split takes precedence over the test set
        "x_key": py_literal((options.inputs or [p.name for p in signature.inputs] or [""])[0]),
        "y_key": py_literal((options.outputs or [p.name for p in signature.outputs] or [""])[0]),
        "loader_seed": py_literal(seed or 0),
        "augment_lines": statement(
            f'stack = keras.Sequential([{", ".join(augment)}], name="augment")'
        ),
        "std_imports": [
            *(["import csv"] if name == "csv" else []),
            *(["import gzip"] if name == "idx" else []),
            *(["from pathlib import Path"] if "path" in args else []),
        ],
        "third_imports": ["from sklearn.datasets import load_digits"] if name == "digits" else [],
    }
    ctx.update(_source(name, args, signature, options, from_file))
    ctx["batch_prepare"] = _batch_prepare(inputs, outputs, options)
    # feed = batches: the arrays stay as loaded, and Batches calls prepare() on each batch
    ctx["batches"] = options.feed == "batches" and not ctx["dataset"] and not augment
    two_sets = (ctx["uses_test"] and not ctx["dataset"]) or ctx["batches"]
    ctx["prepare"] = _prepare(inputs, outputs, options, name, "x", "y") if two_sets else []
    if ctx["prepare"]:
        ctx["prepare"] += statement("return x, y")
    ctx["inline_prepare"] = (
        [] if two_sets else _prepare(inputs, outputs, options, name, "x_train", "y_train")
    )
    ctx["prepare_doc"] = docstring(_prepare_doc(inputs, outputs, options, name))
    ctx["doc"] = _doc(name, args, options)
    ctx["returns"] = _returns(ctx, options)
    ctx.update(_augmented(ctx, options, seed, augment))
    return ctx


def _returns(ctx: dict[str, Any], options: DataOptions) -> list[str]:
    """load_data()'s last lines: the arrays prepared, split off for validation when fit cannot."""
    if ctx["dataset"]:
        return statement("return train, test")
    prep = "prepare" if ctx["prepare"] and not ctx["batches"] else ""
    if ctx["uses_test"]:
        test = f"{prep}(x_test, y_test)" if prep else "(x_test, y_test)"
        if ctx["kind"] == "idx":
            test = f"{test} if x_test is not None else None"
        return statement(f"return {prep}(x_train, y_train), {test}")
    lines: list[str] = list(ctx["inline_prepare"])
    if not (options.validation_split and (ctx["augment"] or ctx["batches"])):
        return lines + statement("return x_train, y_train")
    # Augmented data and Batches reach fit as datasets, for which fit cannot split.
    x, y = ("x_train", "y_train")
    lines += statement(f"cut = int(len({y}) * (1.0 - VALIDATION_SPLIT))  # as validation_split")
    head, tail = _sliced(x, ctx["single_input"]), _sliced(y, ctx["single_output"])
    return lines + statement(
        f"return ({head(':cut')}, {tail(':cut')}), ({head('cut:')}, {tail('cut:')})"
    )


def _one_or_two(var: str, chain: str) -> list[str]:
    """`var = a.b().c()` on one line when it fits, else its first call and the rest."""
    one = statement(f"{var} = {chain}")
    if len(one) == 1 or ")." not in chain:
        return one
    head, _, rest = chain.partition(").")
    return statement(f"{var} = {head})") + statement(f"{var} = {var}.{rest}")


def _sliced(var: str, single: bool) -> Callable[[str], str]:
    if single:
        return lambda s: f"{var}[{s}]"
    return lambda s: f"{{k: v[{s}] for k, v in {var}.items()}}"


def _augmented(
    ctx: dict[str, Any], options: DataOptions, seed: int | None, augment: list[str]
) -> dict[str, Any]:
    """augmented(): batches with the augment layers applied, as kspec.run.data.pipeline does."""
    if not augment:
        return {"augment_params": "", "augment_doc": "", "augment_lines": []}
    layers = f"layers.Pipeline([{', '.join(augment)}])"
    lines = statement(f"augment = {layers}")
    if not ctx["single_input"]:
        images = ", ".join(ctx["augment_inputs"])
        lines += statement(f"images = [{images}]")
        apply = "{k: augment(v, training=True) if k in images else v for k, v in x.items()}"
    else:
        apply = "augment(x, training=True)"
    if ctx["dataset"]:
        params, source = "ds", "ds"
    else:
        params = "x, y, batch_size"
        source = "tf.data.Dataset.from_tensor_slices((x, y))"
        if options.shuffle:
            count = "len(y)" if ctx["single_output"] else "len(next(iter(y.values())))"
            shuffle_seed = ", seed=SEED" if seed is not None else ""
            source += f".shuffle({count}{shuffle_seed})"
        source += ".batch(batch_size)"
    lines += _one_or_two("ds", source)
    parallel = "" if seed is not None else ", num_parallel_calls=tf.data.AUTOTUNE"
    mapped = f"ds.map(lambda x, y: ({apply}, y){parallel})"
    one = f"return {mapped}.prefetch(tf.data.AUTOTUNE)"
    if len(statement(one)) == 1:
        lines += statement(one)
    else:
        lines += statement(f"ds = {mapped}")
        lines += statement("return ds.prefetch(tf.data.AUTOTUNE)")
    what = "Shuffled batches" if options.shuffle and not ctx["dataset"] else "Batches"
    how = " one at a time: the random layers' draws stay reproducible" if seed is not None else ""
    doc = f"{what}, augmented{how}."
    return {"augment_params": params, "augment_doc": docstring(doc), "augment_lines": lines}


def _batch_prepare(
    inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], options: DataOptions
) -> list[str]:
    """batch_prepare()'s body for directory sources: as data.py's converter does per batch."""
    lines: list[str] = []
    for i in inputs:
        var = i["var"]
        lines += statement(f"{var} = tf.cast(x, {i['dtype']})")
        if i["floating"] and options.scale is not None:
            lines += statement(f"{var} = {var} * SCALE")
        if i["reshape"] is not None and i["target"] is not None:
            lines += statement(f"{var} = tf.reshape({var}, {i['target']})")
    for o in outputs:
        var = o["var"]
        lines += statement(f'{var} = tf.cast(y, "int32" if y.dtype.is_integer else "float32")')
    return lines + statement(f"return {inputs[0]['var']}, {outputs[0]['var']}")


# What each array source gives before preparation: (inputs' dtype and shape are the model's,
# labels are int32 or float32 already).
EXACT_INPUTS = ("synthetic",)
EXACT_LABELS = ("synthetic", "csv")
FLOAT_INPUTS = ("csv",)


def _prepare(
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    options: DataOptions,
    source: str,
    x: str,
    y: str,
) -> list[str]:
    """prepare()'s body, NumPy for what data.prepared() does: inputs cast to the feed dtype,
    float inputs scaled, reshaped to the input's shape; labels as int32 or float32."""
    lines: list[str] = []
    single_x, single_y = len(inputs) == 1, len(outputs) == 1
    for i in inputs:
        var = x if single_x else f"{x}[{i['key']}]"
        expr = var
        if source in SEQUENCE_DATASETS:  # padded to the input's length, as int32
            continue
        exact = source in EXACT_INPUTS or (source in FLOAT_INPUTS and i["floating"])
        if not exact and i["dtype"] != py_literal("string"):
            expr = f"{expr}.astype({i['dtype']})"
        if i["floating"] and options.scale is not None:
            expr = f"{expr} * SCALE"
        if i["reshape"] == "always":
            expr = (
                f"({expr}).reshape{i['reshape_args']}"
                if "*" in expr
                else (f"{expr}.reshape{i['reshape_args']}")
            )
        if expr != var:
            lines += statement(f"{var} = {expr}")
        if i["reshape"] == "when_needed":
            lines += statement(f"if {var}.shape[1:] != {i['shape']}:")
            lines += statement(f"{var} = {var}.reshape{i['reshape_args']}", 1)
    for o in outputs:
        var = y if single_y else f"{y}[{o['key']}]"
        if source in EXACT_LABELS:
            continue
        if source in (*KERAS_DATASETS, "idx", "digits"):
            lines += statement(f'{var} = {var}.astype("int32")')
        else:
            lines += statement(
                f'{var} = {var}.astype("int32" if {var}.dtype.kind in "iu" else "float32")'
            )
    return lines


def _prepare_doc(
    inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], options: DataOptions, source: str
) -> str:
    parts = []
    if any(i["floating"] for i in inputs):
        parts.append("float32" + (", scaled by SCALE" if options.scale is not None else ""))
    if any(i["reshape"] for i in inputs):
        shapes = ", ".join(i["shape"] for i in inputs if i["reshape"])
        parts.append(f"shaped {shapes}")
    labels = (
        ""
        if source in EXACT_LABELS
        else "; labels as int32"
        if source in (*KERAS_DATASETS, "idx", "digits")
        else "; labels as int32 (classes) or float32"
    )
    return f"Inputs as {', '.join(parts) or 'the model takes them'}{labels}."


def _doc(name: str, args: dict[str, Any], options: DataOptions) -> str:
    from kspec.codegen.pyliteral import doc_text

    source = (
        f"keras.datasets.{name}"
        if name in KERAS_DATASETS
        else LOADERS[name].doc
        if name in LOADERS
        else name
    )
    if options.validation_split:
        held = f"the last {options.validation_split:.0%} for validation"
    elif name in KERAS_DATASETS:
        held = "its test split for validation"
    elif name == "idx":
        held = "its t10k files, if any, for validation"
    else:
        held = "no validation data"
    return docstring(doc_text(f"The data: {source}; {held}."))


def docstring(text: str, indent: int = 4) -> str:
    """A docstring's text wrapped to the line length, continuation lines indented."""
    import textwrap

    lines = textwrap.wrap(text, 100 - indent - 6)
    return ("\n" + " " * indent).join(lines) + ("\n" + " " * indent if len(lines) > 1 else "")


def _kind(name: str) -> str:
    if name in KERAS_DATASETS:
        return "keras_dataset"
    if name in ("images", "text"):
        return "directory"
    return name


def _loader_args(source: Any) -> dict[str, Any]:
    """The loader call's arguments with LOADERS' defaults filled in (sources.py reads them so)."""
    if not isinstance(source, KerasObject):
        return {}
    given = dict(source.kwargs)
    return {
        a.name: given.get(a.name, a.default)
        for a in (LOADERS[source.name].args if source.name in LOADERS else ())
        if a.name in given or a.default is not ...
    }


def _input(
    port: Port, local: Names, source: str, value: Any, options: DataOptions
) -> dict[str, Any]:
    dtype = feed_dtype(port.dtype)
    floating = dtype == "float32"
    known = None not in port.shape
    have = _static_shape(source, value, port)
    if not known or have == port.shape:
        reshape = None
    else:
        reshape = "always" if have is not None else "when_needed"
    return {
        "key": py_literal(port.name),
        "var": local.fresh(_var(port.name)),
        "dtype": py_literal(dtype),
        "floating": floating,
        "shape": py_literal(port.shape),
        "target": py_literal([-1, *port.shape]) if known else None,
        "reshape_args": "(" + ", ".join(str(d) for d in (-1, *port.shape)) + ")" if known else "",
        "reshape": reshape,
    }


def _static_shape(source: str, value: Any, port: Port) -> tuple[int | None, ...] | None:
    """One example's shape as the source gives it, when known before loading."""
    if source == "synthetic":
        return port.shape
    dataset = DATASETS.get(source)
    if dataset is not None and dataset.x is not None and None not in dataset.x:
        return dataset.x
    return None


def _var(name: str) -> str:
    from kspec.codegen.pymodule import _identifier

    return _identifier(name)


def _source(
    name: str, args: dict[str, Any], signature: Any, options: DataOptions, from_file: bool
) -> dict[str, Any]:
    """Per-loader values for templates/sources/<kind>.py.j2."""
    out: dict[str, Any] = {"path": _path(args["path"], from_file) if "path" in args else None}
    first = signature.inputs[0] if signature.inputs else None
    if name in KERAS_DATASETS:
        vocab = first.vocab if first is not None else None
        out["load_args"] = f"num_words={py_literal(vocab)}" if name in SEQUENCE_DATASETS else ""
        out["pad_length"] = (
            py_literal(first.shape[0] if first is not None and first.shape else None)
            if name in SEQUENCE_DATASETS
            else None
        )
        out["column_labels"] = name in COLUMN_LABELS
    elif name == "synthetic":
        out["samples"] = py_literal(args.get("samples", 1024))
        out["seed"] = py_literal(args.get("seed", 0))
        xs = [_synthetic_input(p, args) for p in signature.inputs]
        ys = [_synthetic_output(p, args) for p in signature.outputs]
        out["arrays"] = statement(_named("x_train", xs, "value")) + statement(
            _named("y_train", ys, "value")
        )
    elif name == "npz":
        xs = _npz_keys(args.get("x", "x"), signature.inputs, options.inputs)
        ys = _npz_keys(args.get("y", "y"), signature.outputs, options.outputs)
        for a in [*xs, *ys]:
            a["value"] = f"f[{a['array']}]"
        out["arrays"] = statement(_named("x_train", xs, "value"), 1) + statement(
            _named("y_train", ys, "value"), 1
        )
    elif name == "csv":
        out.update(
            {
                k: py_literal(args.get(k, d))
                for k, d in (
                    ("label", "label"),
                    ("features", None),
                    ("delimiter", ","),
                    ("classes", None),
                )
            }
        )
    elif name == "idx":
        out["images"] = py_literal(args.get("images"))
        out["labels"] = py_literal(args.get("labels"))
    elif name in ("images", "text"):
        out["size"] = py_literal(tuple(args.get("size", (256, 256))))
        out["color_mode"] = py_literal(args.get("color_mode", "rgb"))
        out["labels"] = py_literal(args.get("labels", "inferred"))
        out["max_tokens"] = py_literal(args.get("max_tokens", 20000))
        out["sequence_length"] = py_literal(args.get("sequence_length", 200))
    return out


def _named(var: str, arrays: list[dict[str, str]], field: str) -> str:
    """`x_train = array` for one input, `x_train = {"a": ..., "b": ...}` for several."""
    if len(arrays) == 1:
        return f"{var} = {arrays[0][field]}"
    return f"{var} = {{" + ", ".join(f"{a['key']}: {a[field]}" for a in arrays) + "}"


def _synthetic_input(port: Port, args: dict[str, Any]) -> dict[str, str]:
    shape = py_literal(
        Code(f"(n, {', '.join(str(d) for d in port.shape)})") if port.shape else Code("(n,)")
    )
    if port.dtype.startswith(("int", "uint")):
        high = py_literal(port.vocab or args.get("classes") or 2)
        value = f"rng.integers(0, {high}, {shape}).astype({py_literal(port.dtype)})"
    elif port.dtype == "string":  # words w0, w1, ...: as kspec.run.sources draws them
        high = py_literal(args.get("classes") or 2)
        value = f'np.char.add("w", rng.integers(0, {high}, {shape}).astype(str))'
    else:
        value = f"rng.standard_normal({shape}).astype(np.float32)"
    return {"key": py_literal(port.name), "value": value}


def _synthetic_output(port: Port, args: dict[str, Any]) -> dict[str, str]:
    dims = [str(d) for d in port.shape]
    loss = (port.loss or "").lower().replace("_", "")
    units = port.shape[-1] if port.shape else 1
    whole = "(n, " + ", ".join(dims) + ")" if dims else "(n,)"
    head = "(n, " + ", ".join(dims[:-1]) + ")" if len(dims) > 1 else "(n,)"
    if loss == "sparsecategoricalcrossentropy":
        value = f"rng.integers(0, {args.get('classes') or units}, {head}).astype(np.int32)"
    elif loss in ("categoricalcrossentropy", "categoricalfocalcrossentropy"):
        value = f"np.eye({units}, dtype=np.float32)[rng.integers(0, {units}, {head})]"
    elif "binary" in loss or loss in ("hinge", "squaredhinge"):
        value = f"rng.integers(0, 2, {whole}).astype(np.float32)"
    else:
        value = f"rng.standard_normal({whole}).astype(np.float32)"
    return {"key": py_literal(port.name), "value": value}


def _npz_keys(
    spec: Any, ports: tuple[Port, ...], chosen: tuple[str, ...] | None
) -> list[dict[str, str]]:
    """(port name, array name) pairs, named as data.py names a loader's arrays."""
    if spec is None:
        return []
    order = list(chosen) if chosen else [p.name for p in ports]
    if isinstance(spec, dict):
        pairs = list(spec.items())
    elif isinstance(spec, str):
        pairs = [(order[0], spec)]
    else:
        pairs = list(zip(order, spec, strict=False))
    return [{"key": py_literal(k), "array": py_literal(v)} for k, v in pairs]


# -- train ------------------------------------------------------------------------------------
def _train(
    checked: Checked,
    graph: Graph,
    settings: TrainSettings,
    classes: Classes,
    data: dict[str, Any],
    options: DataOptions,
) -> dict[str, Any]:

    def value(v: Any, module: str) -> str:
        return py_literal(classes.literal(v, module))

    def each(v: Any, module: str) -> str:
        if isinstance(v, dict):
            return (
                "{" + ", ".join(f"{py_literal(k)}: {each(x, module)}" for k, x in v.items()) + "}"
            )
        if isinstance(v, list | tuple):
            return "[" + ", ".join(each(x, module) for x in v) + "]"
        return value(v, module)

    def compile_of(settings: TrainSettings) -> list[str]:
        fields = settings.fields
        optimizer = fields["optimizer"].value if "optimizer" in fields else "adam"
        args = [f"optimizer={value(optimizer, 'keras.optimizers')}"]
        if "loss" in fields:
            args.append(f"loss={each(fields['loss'].value, 'keras.losses')}")
        if "loss_weights" in fields:
            args.append(f"loss_weights={py_literal(fields['loss_weights'].value)}")
        if "metrics" in fields:
            args.append(f"metrics={each(fields['metrics'].value, 'keras.metrics')}")
        if "jit_compile" in fields and fields["jit_compile"].value is not None:
            args.append(f"jit_compile={py_literal(settings.jit_compile)}")
        args.append("steps_per_execution=STEPS_PER_EXECUTION")
        return args

    def callbacks_of(settings: TrainSettings) -> list[Any]:
        fields = settings.fields
        listed = fields["callbacks"].value if fields.get("callbacks") else []
        return [KerasObject(c) if isinstance(c, str) else c for c in listed or []]

    compile_args = compile_of(settings)
    callbacks = callbacks_of(settings)
    seed = settings.seed
    shuffle_seed = (
        "SEED" if seed is not None else "0" if settings.distribute == "multi_worker" else "None"
    )
    strategy = {
        "mirrored": "tf.distribute.MirroredStrategy()",
        "multi_worker": "tf.distribute.MultiWorkerMirroredStrategy()",
    }.get(settings.distribute or "")
    depth = 1 if strategy is not None else 0
    listed = ", ".join(value(c, "keras.callbacks") for c in callbacks)
    fit_callbacks = f", callbacks=[{listed}]" if callbacks else ""
    load, make_train, fit_data = _feeding(data, options, shuffle_seed)
    fit_comment: list[str] = []
    if data["dataset"] or data["augment"]:
        fit_data.append("shuffle=False")
    if settings.steps_per_execution > 1:  # Keras's bar would count 32/45, 64/45 (see template)
        fit_data.append("verbose=2")
    if data["dataset"] and not data["augment"]:
        fit_comment = statement("# The dataset shuffles itself; fit's shuffle is for arrays.")
    phases: list[str] = []
    all_stages = stages(checked, graph, settings)
    for before, stage in itertools.pairwise(all_stages):
        phases.append(f"# phase {stage.name}: {stage.epochs} more epochs, its own trainable set")
        phases += flag_statements(graph, before.flags, stage.flags)
        phases += statement(f"model.compile({', '.join(compile_of(stage.settings))})", depth)
        batch = "args.batch_size"
        if stage.settings.batch_size != settings.batch_size:
            batch = py_literal(stage.settings.batch_size)
            if data["batches"]:
                phases += _batches_lines(data, options, shuffle_seed, batch)
            elif data["dataset"]:
                seed_arg = f", seed={shuffle_seed}" if shuffle_seed != "None" else ""
                phases += statement(
                    f"train_data = make_dataset(train, {batch}, training=True{seed_arg})"
                )
                if data["augment"]:
                    phases += statement("train_data = augmented(train_data)")
                phases += [
                    "if validation is not None:",
                    *statement(
                        f"validation_data = make_dataset(validation, {batch}, training=False)", 1
                    ),
                ]
        args = [a.replace("args.batch_size", batch) for a in fit_data]
        listed = ", ".join(value(c, "keras.callbacks") for c in callbacks_of(stage.settings))
        phases += ["done = len(history.epoch)"]
        phases += statement(
            f"more = model.fit({', '.join(args)}, initial_epoch=done, "
            f"epochs=done + {stage.epochs}" + (f", callbacks=[{listed}]" if listed else "") + ")"
        )
        phases += [
            "history.epoch += more.epoch",
            "for key, values in more.history.items():",
            "    history.history.setdefault(key, []).extend(values)",
        ]
    return {
        "phases": phases,
        "compile": statement(f"model.compile({', '.join(compile_args)})", depth),
        "load": load,
        "make_train": make_train,
        "fit": fit_comment
        + statement(
            f"history = model.fit({', '.join(fit_data)}, epochs=args.epochs{fit_callbacks})"
        ),
        "epochs": py_literal(settings.epochs),
        "batch_size": py_literal(settings.batch_size),
        "seed": py_literal(seed) if seed is not None else None,
        "shuffle_seed": shuffle_seed,
        "steps_per_execution": py_literal(settings.steps_per_execution),
        "compile_args": compile_args,
        "callbacks": [value(c, "keras.callbacks") for c in callbacks],
        "mixed_precision": settings.mixed_precision,
        "strategy": strategy,
        "output": py_literal(f"{graph.name}.keras"),
    }


def _feeding(
    data: dict[str, Any], options: DataOptions, shuffle_seed: str
) -> tuple[str, list[str], list[str]]:
    """main()'s load_data() line, what it makes of the data, and fit's data arguments: arrays
    as a Keras tutorial passes them, as `kspec run` passes the same arrays."""
    batch = "args.batch_size"
    if data["dataset"]:
        seed = f", seed={shuffle_seed}" if shuffle_seed != "None" else ""
        make = statement(f"train_data = make_dataset(train, {batch}, training=True{seed})")
        if data["augment"]:
            make += statement("train_data = augmented(train_data)")
        make += statement("validation_data = None")
        make += statement("if validation is not None:")
        make += statement(f"validation_data = make_dataset(validation, {batch}, training=False)", 1)
        return (
            "train, validation = load_data()",
            make,
            ["train_data", "validation_data=validation_data"],
        )
    held = data["uses_test"] or (options.validation_split and (data["augment"] or data["batches"]))
    load = (
        "(x_train, y_train), validation = load_data()" if held else "x_train, y_train = load_data()"
    )
    if data["batches"]:
        make = _batches_lines(data, options, shuffle_seed, batch)
        # Batches shuffles itself; fit's shuffle would reorder its batches too
        fit = ["train_data", *(["validation_data=validation_data"] if held else [])]
        return load, make, [*fit, "shuffle=False"]
    if data["augment"]:
        make, args = [], [f"augmented(x_train, y_train, {batch})"]
    else:
        make, args = [], ["x_train", "y_train", f"batch_size={batch}"]
    if held:
        args.append("validation_data=validation")
        if data["augment"]:  # else fit's own batch size
            args.append(f"validation_batch_size={batch}")
    elif options.validation_split:
        args.append("validation_split=VALIDATION_SPLIT")
    if not options.shuffle:
        args.append("shuffle=False")
    return load, make, args


def _batches_lines(
    data: dict[str, Any], options: DataOptions, shuffle_seed: str, batch: str
) -> list[str]:
    """`feed = batches`: the training and validation Batches (templates/_batches.py.j2)."""
    shuffle = ", shuffle=True" if options.shuffle else ""
    seed = f", seed={shuffle_seed}" if options.shuffle and shuffle_seed != "None" else ""
    lines = statement(f"train_data = Batches(x_train, y_train, {batch}, prepare{shuffle}{seed})")
    held = data["uses_test"] or options.validation_split
    if not held:
        return lines
    make = f"Batches(*validation, {batch}, prepare)"
    if data["kind"] == "idx" and data["uses_test"]:  # the t10k files may be missing
        lines += [*statement("validation_data = None"), "if validation is not None:"]
        return lines + statement(f"validation_data = {make}", 1)
    return lines + statement(f"validation_data = {make}")
