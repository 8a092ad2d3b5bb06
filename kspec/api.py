"""The Python API: load a spec from a file or a string, check it, summarize, build, train."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kspec.check.graph import Checked, Graph
from kspec.check.imports import DiskFiles, ImportFiles, NoFiles, ResolvedFiles
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Span

if TYPE_CHECKING:
    import keras

    from kspec.run.train import RunResult


class Spec:
    """A spec's text plus overrides; checking happens once, on first use, without TensorFlow."""

    def __init__(
        self,
        text: str,
        filename: str = "<string>",
        overrides: dict[str, Any] | None = None,
        imports: ImportFiles | None = None,
    ):
        self.text = text
        self.filename = filename
        self.overrides: dict[str, Any] = dict(overrides or {})
        self.imports = imports if imports is not None else NoFiles()  # where `import` reads

    def __repr__(self) -> str:
        return f"kspec.Spec({self.filename!r})"

    @cached_property
    def _result(self) -> tuple[Checked | None, list[Diagnostic], dict[str, Any]]:
        from kspec.check.spec import check_text

        checked, diags = check_text(
            self.text, self.filename, self.overrides, raise_errors=False, imports=self.imports
        )
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
        from kspec.keras.build import build_checked  # imports Keras, so keras.* is imported

        self._allow_uses()
        return build_checked(self.checked, self.graph(model).name)

    def _allow_uses(self) -> None:
        """A spec given as text imports no new package for its `use` lines (that would read code
        from the disk and run it) unless the caller gave a base folder or a resolver: the
        package must be Keras or one the process has imported already."""
        if not isinstance(self.imports, NoFiles):
            return
        for name, target in self.checked.uses.items():
            module = target.partition(":")[0] if ":" in target else target.rpartition(".")[0]
            top = module.partition(".")[0]
            if top not in sys.modules and top != "keras":  # the builder imports Keras anyway
                span = self.checked.use_spans.get(name, Span(0, 0, 0, 0, self.filename))
                raise KspecError(
                    [
                        Diagnostic(
                            "use-import",
                            f'use "{target}": this spec was given as text, and kspec imports '
                            f"no new package for it ('{top}' is not imported yet)",
                            span,
                            "import the module first, or pass kspec.loads(text, base=FOLDER)",
                        )
                    ],
                    self.checked.sources,
                )

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
        self._allow_uses()
        return run(self.checked, RunOptions(model=graph.name, overrides=overrides, **options))

    def codegen(self, **options: Any) -> str:
        """A standalone Keras script for this spec, as `kspec codegen` writes it.

        Options: model (which model), only="model" (build_model() and its imports),
        template_dir (templates to use instead of kspec's; docs/codegen.md).
        """
        from kspec.codegen.generate import codegen

        return codegen(self.text, self.filename, self.overrides, self.imports, **options)

    def to_json(self) -> dict[str, Any]:
        """The checked graph as `kspec ir` prints it (schema/kspec-ir.schema.json)."""
        from kspec.interop.irjson import to_json

        return to_json(self.checked)

    def with_overrides(self, overrides: dict[str, Any]) -> Spec:
        """A new Spec with `--set`-style overrides added (`{"units": 256, "train.epochs": 1}`)."""
        return Spec(self.text, self.filename, {**self.overrides, **overrides}, self.imports)


def load(path: str | Path, overrides: dict[str, Any] | None = None) -> Spec:
    from kspec.check.spec import read_spec

    return Spec(read_spec(path), str(path), overrides, DiskFiles())


def loads(
    text: str,
    filename: str = "<string>",
    overrides: dict[str, Any] | None = None,
    *,
    base: str | Path | None = None,
    resolver: Callable[[str], str] | None = None,
) -> Spec:
    """A Spec from text. It reads nothing from the disk: an `import` is a diagnostic and a
    `use` imports no module, unless `base` (the folder its imports are relative to) or
    `resolver` (a function from an import's path to its text) is given."""
    if base is not None and resolver is not None:
        raise ValueError("kspec.loads takes base= or resolver=, not both")
    imports: ImportFiles = (
        DiskFiles(base) if base is not None else ResolvedFiles(resolver) if resolver else NoFiles()
    )
    return Spec(text, filename, overrides, imports)


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
