"""`kspec codegen`: a checked spec as a standalone Keras script, rendered through Jinja templates.

This module gathers the template context (docs/codegen.md lists every variable): the
script's imports, the spec's constants, one function per model and block (pymodule.py), and
the data and train sections written out (codegen_train.py). Templates only lay it out; every
value reaches them rendered by pyliteral.py. Nothing here names a layer.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kspec.check.graph import Checked
from kspec.check.imports import ImportFiles
from kspec.codegen.pycode import NUMBERED, Function
from kspec.codegen.pyexpr import file_expression
from kspec.codegen.pyliteral import doc_text, py_literal
from kspec.codegen.pymodule import Constant, Module, generate_models
from kspec.codegen.pynames import SCRIPT_NAMES, Classes, Names
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Span
from kspec.syntax import ir

SCRIPT_TEMPLATE = "script.py.j2"
MODEL_TEMPLATE = "model.py.j2"


@dataclass(frozen=True)
class Options:
    """What `kspec codegen` takes besides the spec."""

    model: str | None = None  # which model to build and train (default: train.model, else last)
    only: str | None = None  # "model": build_model() and its imports only
    template_dir: str | Path | None = None  # the user's templates, in place of kspec's


def codegen(
    text: str,
    path: str = "<string>",
    overrides: list[str] | dict[str, Any] | None = None,
    imports: ImportFiles | None = None,
    **options: Any,
) -> str:
    """The script for a spec's text; raises KspecError for a spec with errors. `imports`: where
    its `import` lines read files (kspec/check/imports.py; by default the disk)."""
    opts = Options(**options)
    context = template_context(text, path, overrides, imports, **options)
    template = MODEL_TEMPLATE if opts.only == "model" else SCRIPT_TEMPLATE
    script = render(context, template, opts.template_dir)
    # Imports are offered generously and kept when the script reads what they bind.
    used = _used_names(script)
    if used is None:
        return script
    sections = [[line for line in section if _binds(line) & used] for section in context["imports"]]
    context["imports"] = [section for section in sections if section]
    return render(context, template, opts.template_dir)


def template_context(
    text: str,
    path: str = "<string>",
    overrides: list[str] | dict[str, Any] | None = None,
    imports: ImportFiles | None = None,
    **options: Any,
) -> dict[str, Any]:
    """What the templates receive (docs/codegen.md)."""
    from kspec.check.spec import check_text

    opts = Options(**options)
    if opts.only not in (None, "model"):
        raise ValueError(f"only= takes 'model', got {opts.only!r}")
    checked, _ = check_text(text, path, overrides, imports=imports)
    assert checked is not None
    return build_context(checked, opts)


# -- context ----------------------------------------------------------------------------------
def build_context(checked: Checked, opts: Options) -> dict[str, Any]:
    scopes = checked.scopes
    graph = checked.model(opts.model)
    names = Names(SCRIPT_NAMES)
    imported = _use_imports(checked, names)
    constants = {
        k: Constant(names.fresh(_constant_name(k)), v)
        for k, v in checked.constants.items()
        if _plain(v)
    }
    classes = Classes(checked.uses, {k: alias for k, (_, alias) in imported.items()})
    written = {i.name: i.value for i in checked.spec.items if isinstance(i, ir.Const)}

    def spell(expr: ir.Expr, value: Any) -> str:
        """A file-level value as the spec wrote it, when that still means it, else literal."""
        text = file_expression(expr, value, scopes[checked.path], module_constant, classes)
        return text if text is not None else py_literal(classes.literal(value))

    def spelled(name: str, value: Any) -> str:
        expr = written.get(name)
        return spell(expr, value) if expr is not None else py_literal(classes.literal(value))

    def module_constant(name: str, value: Any) -> str | None:
        found = constants.get(name)
        return found.name if found is not None and found.value == value else None

    def make(flat: dict[str, str]) -> Module:
        return Module(checked, scopes, set(names.taken), classes, constants, dict(flat))

    module, functions = generate_models(make, graph)
    rendered = [_function(fn, lines) for fn, lines in functions]
    used = _loaded_names(functions)
    values = {k: spelled(k, c.value) for k, c in constants.items()}
    needed = set(used)  # --only model: the constants the functions read, and what those read
    while opts.only == "model":
        more = {n for k, c in constants.items() if c.name in needed for n in _names_in(values[k])}
        if more <= needed:
            break
        needed |= more
    shown = [(k, c) for k, c in constants.items() if opts.only != "model" or c.name in needed]
    extra: dict[str, Any] = {}
    if opts.only != "model":
        from kspec.codegen.train import train_context

        extra = train_context(checked, graph, classes, spell)
    context: dict[str, Any] = {
        "doc": doc_text(_module_doc(checked, graph.name, opts, _needs_tf(extra))),
        "model_name": graph.name,
        "source_name": doc_text(Path(checked.path).name),
        "constants": [{"name": c.name, "value": values[k]} for k, c in shown],
        "functions": rendered,
        "numbered": NUMBERED in used,
        "flat_models": [{"name": k, "reason": doc_text(v)} for k, v in sorted(module.flat.items())],
        "imports": _imports(imported, used, extra.get("data"), full=opts.only != "model"),
        **extra,
    }
    return context


def _module_doc(checked: Checked, model: str, opts: Options, tf: bool = False) -> str:
    name = Path(checked.path).name
    if opts.only == "model":
        return f"The `{model}` model of {name}, as Keras code (generated by `kspec codegen`)."
    keras = "Keras 3 and tf.data" if tf else "Keras 3, any backend"
    title = f"Train the `{model}` model of {name} with {keras}"
    long = f"{title} (generated by `kspec codegen`)."
    return long if len(long) <= 100 - 6 else f"{title}."


def _needs_tf(extra: dict[str, Any]) -> bool:
    """Whether the script needs TensorFlow itself: tf.data, a tf.distribute strategy, the GPU
    check for mixed precision. Everything else is backend-neutral Keras."""
    if not extra:
        return False
    data, train = extra["data"], extra["train"]
    return bool(data["dataset"] or data["augment"] or train["mixed_precision"] or train["strategy"])


def _function(fn: Function, lines: list[str]) -> dict[str, Any]:
    return {"name": fn.name, "params": ", ".join(fn.params), "doc": doc_text(fn.doc), "body": lines}


def _loaded_names(functions: list[tuple[Function, list[str]]]) -> set[str]:
    """Names the functions read, parameter defaults included."""
    defs = [
        f"def {fn.name}({', '.join(fn.params)}):\n" + "\n".join(f"    {line}" for line in lines)
        for fn, lines in functions
    ]
    source = "\n".join(defs)
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def _names_in(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code, mode="eval")) if isinstance(n, ast.Name)}


def _used_names(script: str) -> set[str] | None:
    """Names the script reads; None when a user's template made something that does not parse."""
    try:
        tree = ast.parse(script)
    except SyntaxError:
        return None
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _binds(line: str) -> set[str]:
    """The name an import binds: `np` for `import numpy as np`, `Path` for `from x import Path`."""
    words = line.split()
    return (
        {words[-1].split(".")[0]}
        if words[0] == "from" or "as" in words
        else {words[1].split(".")[0]}
    )


def _constant_name(name: str) -> str:
    upper = name.upper()
    return upper if upper.isidentifier() else "CONSTANT"


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


# -- imports ----------------------------------------------------------------------------------
def _use_imports(checked: Checked, names: Names) -> dict[str, tuple[str, str]]:
    """`use "pkg.mod:Class"` -> (module, identifier): the script imports the class itself."""
    out: dict[str, tuple[str, str]] = {}
    for bound, target in sorted(checked.uses.items()):
        module, sep, attr = target.partition(":")
        if not sep:
            module, _, attr = target.rpartition(".")
        parts = [*module.split("."), *attr.split(".")]
        if not all(p.isidentifier() for p in parts) or not module:
            raise KspecError(
                [
                    Diagnostic(
                        "codegen-use",
                        f'use "{target}" does not name a Python class that a script can import',
                        checked.use_spans.get(bound, Span(0, 0, 0, 0, checked.path)),
                        help='write use "package.module:Class"',
                    )
                ],
                checked.sources,
            )
        out[bound] = (module, attr if "." in attr else names.fresh(attr))
    return out


def _imports(
    uses: dict[str, tuple[str, str]], used: set[str], data: dict[str, Any] | None, *, full: bool
) -> list[list[str]]:
    """Import sections as ruff's isort orders them: standard library, then third party."""
    third = ["import keras"]
    std = ["import argparse", "from pathlib import Path", *(data["std_imports"] if data else [])]
    if full:
        third += ["import numpy as np", "import tensorflow as tf"]
    from_lines = ["from keras import layers"] if full or "layers" in used else []
    from_lines += data["third_imports"] if data else []
    for module, alias in uses.values():
        attr = alias
        if "." in attr:
            third.append(f"import {module}")
        else:
            from_lines.append(f"from {module} import {attr}")
    if not full:  # build_model() alone: Path for an application's weights file (kept if read)
        std = ["from pathlib import Path"]
    std = sorted(set(std), key=lambda line: (line.startswith("from"), _isort_key(line)))
    sections = [std] if std else []
    sections.append(sorted(set(third), key=_isort_key) + sorted(set(from_lines), key=_isort_key))
    if not full:
        return sections
    return sections


def _isort_key(line: str) -> tuple[str, str]:
    words = line.split()
    return words[1].lower(), line


# -- rendering --------------------------------------------------------------------------------
def render(context: dict[str, Any], template: str, template_dir: str | Path | None = None) -> str:
    """Render kspec's templates, or the user's: their files first, kspec's for the rest."""
    import jinja2

    from kspec.resources import resource_dir

    folders = [str(resource_dir("templates"))]
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise TemplateError(f"--template {template_dir}: no such directory")
        folders.insert(0, str(template_dir))
    folder = folders[0]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateNotFound as e:
        raise TemplateError(f"{folder} has no template {e.name}") from None
    except jinja2.TemplateError as e:
        raise TemplateError(f"template {template} in {folder}: {e}") from None


class TemplateError(Exception):
    """A user's template is missing or broken (the CLI shows it as a usage error)."""


def write_script(path: str | Path, text: str) -> None:
    """Write the script in one step: an interrupted codegen never leaves half a file."""
    from kspec.output import write_text

    write_text(path, text)
