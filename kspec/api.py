"""The Python API: load a spec from a file or a string, check it, summarize, build, train."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kspec.check.graph import Checked, Graph
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Span

if TYPE_CHECKING:
    import keras

    from kspec.run.train import RunResult


class Spec:
    """A spec's text plus overrides; checking happens once, on first use, without TensorFlow."""

    def __init__(
        self, text: str, filename: str = "<string>", overrides: dict[str, Any] | None = None
    ):
        self.text = text
        self.filename = filename
        self.overrides: dict[str, Any] = dict(overrides or {})

    def __repr__(self) -> str:
        return f"kspec.Spec({self.filename!r})"

    @cached_property
    def _result(self) -> tuple[Checked | None, list[Diagnostic], dict[str, Any]]:
        from kspec.check.spec import check_text

        checked, diags = check_text(self.text, self.filename, self.overrides, raise_errors=False)
        if diags.errors:
            checked = None
        return checked, list(diags.items), dict(diags.sources)

    def check(self) -> list[Diagnostic]:
        """Every diagnostic (errors and warnings); empty when the spec is clean."""
        return list(self._result[1])

    @property
    def checked(self) -> Checked:
        """The checked spec; raises KspecError carrying every diagnostic when there are errors."""
        checked, diags, sources = self._result
        if checked is None:
            raise KspecError(diags, sources)
        return checked

    @property
    def models(self) -> list[str]:
        return list(self.checked.models)

    def graph(self, model: str | None = None) -> Graph:
        return self.checked.model(model)

    def summary(self, model: str | None = None) -> dict[str, Any]:
        """The static summary as data: layers, output shapes, parameter counts."""
        from kspec.report.summary import summary_json

        return summary_json(self.graph(model))

    def summary_text(self, model: str | None = None) -> str:
        from kspec.report.summary import render_summary

        return render_summary(self.graph(model))

    def build(self, model: str | None = None) -> keras.Model:
        """The keras.Model for `model` (default: train.model, else the last); imports Keras."""
        from kspec.keras.build import build_checked

        return build_checked(self.checked, self.graph(model).name)

    def fit(self, **options: Any) -> RunResult:
        """Train as `kspec run` does; returns the trained model, its history and the run folder.

        Options: epochs, output (the run folder), model, quiet (one line per epoch),
        verbose (Keras's: 0 silent, 1 a progress bar, 2 one line per epoch).
        """
        from kspec.check.evaluate import spec_text
        from kspec.run.train import RunOptions, run

        overrides = [
            f"{k}={v if isinstance(v, str) else spec_text(v)}" for k, v in self.overrides.items()
        ]
        graph = self.graph(options.pop("model", None))
        return run(self.checked, RunOptions(model=graph.name, overrides=overrides, **options))

    def codegen(self, **options: Any) -> str:
        """A standalone Keras script for this spec, as `kspec codegen` writes it.

        Options: model (which model), only="model" (build_model() and its imports),
        template_dir (templates to use instead of kspec's; docs/codegen.md).
        """
        from kspec.codegen.generate import codegen

        return codegen(self.text, self.filename, self.overrides, **options)

    def to_json(self) -> dict[str, Any]:
        """The checked graph as `kspec ir` prints it (schema/kspec-ir.schema.json)."""
        from kspec.interop.irjson import to_json

        return to_json(self.checked)

    def with_overrides(self, overrides: dict[str, Any]) -> Spec:
        """A new Spec with `--set`-style overrides added (`{"units": 256, "train.epochs": 1}`)."""
        return Spec(self.text, self.filename, {**self.overrides, **overrides})


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> Spec:
    from kspec.check.spec import read_spec

    return Spec(read_spec(path), str(path), overrides)


def loads(text: str, filename: str = "<string>", overrides: dict[str, Any] | None = None) -> Spec:
    return Spec(text, filename, overrides)


def from_json(data: dict[str, Any] | str, filename: str = "<json>") -> Spec:
    """The Spec that `kspec ir` JSON (a dict, or its text) describes."""
    import json

    from kspec.interop.irjson import from_json as ir_from_json
    from kspec.syntax.printer import print_spec

    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise KspecError(
                [
                    Diagnostic(
                        "bad-ir-json",
                        f"not JSON: {e.msg} at line {e.lineno}",
                        Span(0, 0, 0, 0, filename),
                    )
                ]
            ) from None
    return Spec(print_spec(ir_from_json(data)), filename)


def from_keras(model: Any, filename: str = "<keras>") -> Spec:
    """A readable spec for a keras.Model, from its config (no weights; nothing is run)."""
    from kspec.interop.importer import from_keras_model

    return Spec(from_keras_model(model), filename)
