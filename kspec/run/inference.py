"""`kspec evaluate` and `kspec predict`: a saved model (or run folder) applied to new data."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from kspec.check.graph import Checked, Setting
from kspec.check.settings import Signature, feed_dtype
from kspec.diagnostics import Diagnostic, KspecError
from kspec.run import rundir
from kspec.run.data import check_fits, fits, load_data, pipeline, signature_of_model
from kspec.run.request import Request
from kspec.source import Span


def _fail(message: str, where: str, help: str | None = None) -> KspecError:
    return KspecError([Diagnostic("run-error", message, Span(0, 0, 0, 0, where), help)])


@dataclass
class Saved:
    """A loaded model and, when it came from a run folder, the spec it was trained with."""

    model: Any
    path: Path
    run: Checked | None = None
    workdir: Path | None = None

    def train_value(self, name: str, default: Any) -> Any:
        setting = self.run.train.get(name) if self.run is not None else None
        return default if setting is None or setting.value is None else setting.value


def load_saved(target: str | Path) -> Saved:
    """`DIR` (a run folder) or `model.keras`."""
    path = Path(target)
    model_file = path / "model.keras" if path.is_dir() else path
    if not model_file.is_file():
        raise _fail(
            f"no saved model at {model_file}",
            str(target),
            help="pass a run folder written by `kspec run`, or a .keras file",
        )
    from kspec.run.runtime import import_tensorflow

    import_tensorflow()
    import keras

    try:
        model = keras.models.load_model(model_file)
    except Exception as e:  # Keras raises ValueError, OSError, zipfile errors, ...
        raise _fail(f"cannot load {model_file}: {type(e).__name__}: {e}", str(target)) from None
    saved = Saved(model, model_file)
    if path.is_dir() and (path / rundir.RUN_FILE).is_file():
        from kspec.check.spec import check_text

        info = rundir.read_json(path / rundir.RUN_FILE)
        saved.run, _ = check_text(info["spec_text"], info["spec_path"], info["overrides"])
        saved.workdir = Path(info["workdir"])
    return saved


def signature_of(saved: Saved) -> Signature:
    """The run's own model signature when there is one (it knows losses and vocabularies)."""
    if saved.run is not None:
        from kspec.run.data import signature_of_graph

        return signature_of_graph(saved.run.model(), saved.run.train)
    return signature_of_model(saved.model)


def data_section(saved: Saved, data: str | None) -> tuple[dict[str, Setting], Any, str, Path]:
    """The data fields to evaluate on: a spec file's, a source expression on the run's other
    fields (scale, ...), or the run's own. Returns (fields, sources, spec path, workdir)."""
    from kspec.check.spec import check_file, check_text

    if data is None:
        if saved.run is None:
            raise _fail(
                "a bare model file needs --data",
                str(saved.path),
                help="--data spec.kspec (its data section) or --data 'idx(\"dir\")'",
            )
        return saved.run.data, saved.run.sources, saved.run.path, saved.workdir or Path.cwd()
    if data.endswith(".kspec") and Path(data).is_file():
        checked = check_file(data)
        return checked.data, checked.sources, checked.path, Path.cwd()
    checked_expr, _ = check_text(f"data {{ source = {data} }}", "--data")
    assert checked_expr is not None
    fields = dict(saved.run.data) if saved.run is not None else {}
    fields["source"] = checked_expr.data["source"]
    return fields, checked_expr.sources, "--data", Path.cwd()


def evaluate(
    target: str | Path,
    data: str | None = None,
    batch_size: int | None = None,
    scale: str | None = None,
) -> dict[str, Any]:
    """Metrics of a saved model on the source's own test split when it has one, else on the
    run's validation part, else on all of it; `data` says which, `prepared` what was applied."""
    saved = load_saved(target)
    fields, sources, spec_path, workdir = data_section(saved, data)
    from_file = data is not None and spec_path != "--data"
    factor, prepared = _preparation(saved, scale, fields, spec_path if from_file else "")
    fields = {k: v for k, v in fields.items() if k != "scale"}
    if factor is not None:
        fields["scale"] = Setting(factor)
    signature = signature_of(saved)
    seed = saved.train_value("seed", 0)  # directory sources split by seed: the run's split
    loaded = load_data(fields, sources, signature, spec_path=spec_path, workdir=workdir, seed=seed)
    batch = batch_size or saved.train_value("batch_size", 32)
    part, name = (
        (loaded.test, "test")
        if loaded.test is not None
        else (loaded.validation, "validation")
        if loaded.validation is not None
        else (loaded.train, "all")
    )
    ds = pipeline(part, signature, loaded.options, batch, training=False)
    if not getattr(saved.model, "compiled", False):
        raise _fail(
            f"{saved.path} was saved without compile settings (loss, metrics)", str(saved.path)
        )
    results = saved.model.evaluate(**ds.evaluate_args(), verbose=0, return_dict=True)
    return {
        "data": name,
        "examples": part.count,
        "prepared": prepared,
        **{k: float(v) for k, v in results.items()},
    }


def _preparation(
    saved: Saved, scale: str | None, fields: dict[str, Setting] | None = None, where: str = ""
) -> tuple[float | None, dict[str, Any]]:
    """The input scale to apply and, for the user, what it is and where it came from: --scale,
    else the data section in use (`fields`, the run's by default; `where` names its file)."""
    if fields is None:
        fields = saved.run.data if saved.run is not None else {}
    factor = _scale(scale) if scale is not None else None
    if scale is not None:
        origin = "--scale"
    elif "scale" in fields and fields["scale"].value is not None:
        factor = float(fields["scale"].value)
        origin = f"the data section of {where}" if where else "the run's data section"
    elif saved.run is not None or where:
        origin = "its data section has no scale"
    else:
        origin = "a bare model file has no data section: give the run folder, or --scale"
    shown = None if factor is None else str(Fraction(factor).limit_denominator(10_000))
    return factor, {"scale": shown, "from": origin}


FORMATS = (".npy", ".npz", ".csv", ".json")


def predict(
    target: str | Path,
    inputs: str | Path,
    output: str | Path,
    *,
    scale: str | None = None,
    batch_size: int | None = None,
    classes: bool = False,
) -> dict[str, Any]:
    """Run the model on INPUT.npy (INPUT.npz by input name) and write OUT atomically, in the
    format its extension names. The run's `data.scale` is applied as in training unless
    `scale` overrides it; `classes` writes each example's class index and its probability."""
    out = Path(output)
    if out.suffix.lower() not in FORMATS:
        raise _fail(
            f"cannot tell the format of {out.name}",
            str(out),
            help=f"end the output file's name with one of {', '.join(FORMATS)}",
        )
    saved = load_saved(target)
    signature = signature_of_model(saved.model)
    factor, prepared = _preparation(saved, scale)
    x = _inputs(Path(inputs), signature, factor)
    batch = batch_size or saved.train_value("batch_size", 32)
    result = saved.model.predict(x, batch_size=batch, verbose=0)
    names = [p.name for p in signature.outputs]
    outs = (
        result
        if isinstance(result, dict)
        else dict(zip(names, result, strict=True))
        if isinstance(result, list)
        else {names[0]: result}
    )
    arrays = {k: np.asarray(v) for k, v in outs.items()}
    if classes:
        arrays = {k: _classes(v, _from_logits(saved, k)) for k, v in arrays.items()}
    suffix = out.suffix.lower()
    if suffix == ".npy" and len(arrays) > 1:
        raise _fail(
            f"the model has {len(arrays)} outputs ({', '.join(arrays)}); a .npy file holds one",
            str(out),
            help="write .npz (one array per output), .csv or .json",
        )
    writers = {".npy": lambda tmp: _save_npy(tmp, next(iter(arrays.values()))),
               ".npz": lambda tmp: _save_npz(tmp, arrays),
               ".csv": lambda tmp: _save_csv(tmp, arrays, classes),
               ".json": lambda tmp: _save_json(tmp, arrays, classes)}  # fmt: skip
    rundir.atomic_save(out, writers[suffix], suffix=suffix)
    return {
        "shapes": {k: tuple(v.shape) for k, v in arrays.items()},
        "prepared": prepared,
    }


def _from_logits(saved: Saved, output: str) -> bool:
    """Whether the run's loss for `output` says the model outputs logits."""
    from kspec.catalog import KerasObject

    loss = saved.train_value("loss", None)
    one = loss.get(output) if isinstance(loss, dict) else loss
    return isinstance(one, KerasObject) and one.kwargs_dict().get("from_logits") is True


def _classes(scores: np.ndarray, logits: bool) -> np.ndarray:
    """(examples, 2): the most probable class and its probability, per example."""
    scores = scores.reshape(len(scores), -1).astype(np.float64)
    if scores.shape[1] == 1:  # one sigmoid unit: class 1 when p >= 0.5
        p = 1 / (1 + np.exp(-scores[:, 0])) if logits else scores[:, 0]
        index = (p >= 0.5).astype(np.float64)
        return np.stack([index, np.where(index == 1, p, 1 - p)], axis=1)
    if logits:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores = shifted / shifted.sum(axis=1, keepdims=True)
    index = scores.argmax(axis=1)
    return np.stack([index.astype(np.float64), scores[np.arange(len(scores)), index]], axis=1)


def _columns(arrays: dict[str, np.ndarray], classes: bool) -> tuple[list[str], np.ndarray]:
    """A header and a 2-D table: one row per example, the outputs side by side."""
    header: list[str] = []
    tables = []
    for name, array in arrays.items():
        table = array.reshape(len(array), -1)
        if classes:
            header += [f"{name}_class", f"{name}_probability"] if len(arrays) > 1 else [
                "class", "probability"]  # fmt: skip
        elif table.shape[1] == 1:
            header.append(name)
        else:
            header += [f"{name}_{i}" for i in range(table.shape[1])]
        tables.append(table)
    return header, np.concatenate(tables, axis=1)


def _save_csv(path: Path, arrays: dict[str, np.ndarray], classes: bool) -> None:
    import csv

    header, table = _columns(arrays, classes)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in table:
            writer.writerow(
                [int(v) if classes and i % 2 == 0 else repr(float(v)) for i, v in enumerate(row)]
            )


def _save_json(path: Path, arrays: dict[str, np.ndarray], classes: bool) -> None:
    import json

    if classes:
        body: Any = {
            k: [{"class": int(c), "probability": float(p)} for c, p in v] for k, v in arrays.items()
        }
    else:
        body = {k: v.tolist() for k, v in arrays.items()}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(body, f)
        f.write("\n")


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object, so NumPy does not add ".npy" to the temp name
        np.save(f, array)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # NumPy's stub types **kwds as bool


def _scale(scale: str) -> float:
    try:
        return float(Fraction(scale))
    except (ValueError, ZeroDivisionError):
        raise _fail(
            f"--scale takes a number such as 0.5 or 1/255, got '{scale}'", "--scale"
        ) from None


def _inputs(path: Path, signature: Signature, scale: float | None) -> Any:
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise _fail(f"no such file: {path}", str(path)) from None
    except (OSError, ValueError) as e:
        raise _fail(f"cannot read {path}: {e}", str(path)) from None
    if isinstance(loaded, np.ndarray):
        if len(signature.inputs) != 1:
            names = ", ".join(p.name for p in signature.inputs)
            raise _fail(
                f"the model has inputs {names}; give an .npz with one array per input", str(path)
            )
        arrays = {signature.inputs[0].name: loaded}
    else:
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
    req = Request(None, Span(0, 0, 0, 0, str(path)), {}, Path.cwd(), signature)
    out = {}
    for port in signature.inputs:
        if port.name not in arrays:
            raise _fail(
                f"{path.name} has no array for input '{port.name}'",
                str(path),
                help=f"arrays: {', '.join(arrays)}",
            )
        value = arrays[port.name]
        check_fits(port, tuple(value.shape[1:]), req)
        dtype = feed_dtype(port.dtype)
        floating = dtype == "float32"
        value = value.astype(str if dtype == "string" else dtype)  # NumPy spells strings str
        if floating and scale is not None:
            value = value * np.float32(scale)
        if fits(port.shape, tuple(value.shape[1:])) == "reshape":
            value = value.reshape((-1, *[int(d) for d in port.shape if d is not None]))
        out[port.name] = value
    return out[signature.inputs[0].name] if len(out) == 1 else out
