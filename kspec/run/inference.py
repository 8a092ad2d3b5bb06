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
    target: str | Path, data: str | None = None, batch_size: int | None = None
) -> dict[str, Any]:
    """Metrics of a saved model on the validation part of `data` (all of it when it has none)."""
    saved = load_saved(target)
    fields, sources, spec_path, workdir = data_section(saved, data)
    signature = signature_of(saved)
    seed = saved.train_value("seed", 0)  # directory sources split by seed: the run's split
    loaded = load_data(fields, sources, signature, spec_path=spec_path, workdir=workdir, seed=seed)
    batch = batch_size or saved.train_value("batch_size", 32)
    part, name = (
        (loaded.validation, "validation")
        if loaded.validation is not None
        else (loaded.train, "all")
    )
    ds = pipeline(part, signature, loaded.options, batch, training=False)
    if not getattr(saved.model, "compiled", False):
        raise _fail(
            f"{saved.path} was saved without compile settings (loss, metrics)", str(saved.path)
        )
    results = saved.model.evaluate(**ds.evaluate_args(), verbose=0, return_dict=True)
    return {"data": name, "examples": part.count, **{k: float(v) for k, v in results.items()}}


def predict(
    target: str | Path,
    inputs: str | Path,
    output: str | Path,
    *,
    scale: str | None = None,
    batch_size: int | None = None,
) -> dict[str, tuple[int, ...]]:
    """Run the model on INPUT.npy (INPUT.npz by input name) and write OUT atomically.

    The run's `data.scale` is applied as in training unless `scale` overrides it.
    """
    saved = load_saved(target)
    signature = signature_of_model(saved.model)
    factor = _scale(saved, scale)
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
    out = Path(output)
    if len(arrays) == 1:
        only = next(iter(arrays.values()))
        rundir.atomic_save(out, lambda tmp: _save_npy(tmp, only))
    else:
        rundir.atomic_save(out, lambda tmp: _save_npz(tmp, arrays))
    return {k: tuple(v.shape) for k, v in arrays.items()}


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object, so NumPy does not add ".npy" to the temp name
        np.save(f, array)


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # NumPy's stub types **kwds as bool


def _scale(saved: Saved, scale: str | None) -> float | None:
    if scale is not None:
        try:
            return float(Fraction(scale))
        except (ValueError, ZeroDivisionError):
            raise _fail(
                f"--scale takes a number such as 0.5 or 1/255, got '{scale}'", "--scale"
            ) from None
    setting = saved.run.data.get("scale") if saved.run is not None else None
    return None if setting is None else float(setting.value)


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
