"""`kspec graph`: a model's graph as Graphviz DOT, with the static shape on every edge.

Nodes are layers (name, Keras class, parameter count); edges are tensors, labelled with their
shape in Keras's notation (batch axis first, `None`); each model output ends at its own node,
so the final shapes are shown too. SVG and PNG come from Graphviz's `dot` program, a system
package that kspec does not install; the DOT text needs nothing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from kspec.catalog.shapes import show
from kspec.check.graph import Graph, Layer, Tensor
from kspec.diagnostics import Diagnostic, KspecError
from kspec.output import write_bytes, write_text
from kspec.source import Span

FORMATS = ("dot", "svg", "png")
INSTALL_HELP = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
    "graphviz), or write .dot and render it elsewhere"
)


def quote(text: str) -> str:
    """A DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _params(layer: Layer) -> str:
    if layer.is_input:
        return ""
    if layer.params is None:
        return "? params"
    n = layer.params.total
    return f"{n:,} param{'s' if n != 1 else ''}"


def _shape(t: Tensor) -> str:
    return "?" if t.shape is None else show(t.shape)


def to_dot(graph: Graph) -> str:
    """The DOT text of one checked model."""
    lines = [
        f"digraph {quote(graph.name)} {{",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#f4f4f4", fontname="Helvetica",'
        " fontsize=10];",
        '    edge [fontname="Helvetica", fontsize=9];',
    ]
    for layer in graph.layers:
        kind = "InputLayer" if layer.is_input else layer.class_name
        if isinstance(layer.spec, Graph):
            kind = f"model {layer.spec.name}"
        label = "\n".join(part for part in (layer.name, kind, _params(layer)) if part)
        extra = ', fillcolor="#dde8f5"' if layer.is_input else ""
        lines.append(f"    {quote(layer.name)} [label={quote(label)}{extra}];")
    for call in graph.calls:
        for t in call.input_list():
            lines.append(
                f"    {quote(t.layer.name)} -> {quote(call.layer.name)} [label={quote(_shape(t))}];"
            )
    for i, (t, name) in enumerate(zip(graph.outputs, graph.output_names, strict=True)):
        node = f"output {i}"
        lines.append(
            f'    {quote(node)} [label={quote(name or "output")}, shape=oval, fillcolor="#e3f2e1"];'
        )
        lines.append(f"    {quote(t.layer.name)} -> {quote(node)} [label={quote(_shape(t))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def output_format(path: str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise KspecError(
            [
                Diagnostic(
                    "bad-output",
                    f"cannot tell the format of {path}",
                    Span(0, 0, 0, 0, path),
                    help="name it .svg, .png or .dot",
                )
            ]
        )
    return suffix


def render(dot: str, fmt: str, path: str) -> None:
    """Write `dot` to `path` as DOT text, or as SVG/PNG through Graphviz's `dot` program."""
    if fmt == "dot":
        write_text(path, dot)
        return
    program = shutil.which("dot")
    if program is None:
        raise KspecError(
            [
                Diagnostic(
                    "missing-graphviz",
                    f"writing {path} needs Graphviz's `dot` program, which is not installed",
                    Span(0, 0, 0, 0, path),
                    help=INSTALL_HELP,
                )
            ]
        )
    # dot writes to stdout, not to `path`: the file is replaced whole, or not at all.
    done = subprocess.run(
        [program, f"-T{fmt}"], input=dot.encode(), capture_output=True, check=False
    )
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"exit status {done.returncode}"
        raise KspecError(
            [
                Diagnostic(
                    "graphviz-failed",
                    f"dot could not write {path}: {message}",
                    Span(0, 0, 0, 0, path),
                )
            ]
        )
    write_bytes(path, done.stdout)
