"""Completion from the text before the cursor, which is usually mid-edit and does not parse:
layer, block and model names where a step can start, a call's argument names with their
defaults, the fixed values a parameter takes, names in scope, and data/train field names.

The catalog is the source of every layer name, argument, default and choice; the last text that
parsed supplies the names a file defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lsprotocol import types as lsp

from kspec.catalog import ALIASES, CATALOG, LayerSpec, lookup
from kspec.catalog import names as kn
from kspec.catalog.base import Param
from kspec.catalog.datasets import DATASETS, LOADERS
from kspec.catalog.opbase import OPS
from kspec.check.evaluate import spec_text
from kspec.check.sections import SECTION_FIELDS
from kspec.lsp.index import Index, Position
from kspec.syntax import ir

BODY_KEYWORDS = ("input", "output", "layer", "for", "if")
TOP_KEYWORDS = ("model", "block", "data", "train", "import", "use")
VALUES = {  # data/train fields whose values are names Keras (or kspec) knows
    "source": (*DATASETS, *LOADERS),
    "optimizer": kn.OPTIMIZERS,
    "loss": (*kn.LOSS_FUNCTIONS, *kn.LOSS_CLASSES),
    "metrics": (*kn.METRIC_FUNCTIONS, *kn.METRIC_CLASSES),
    "callbacks": kn.CALLBACKS,
    "distribute": ("none", "mirrored", "multi_worker"),
}
HEADER = re.compile(r"^(model|block)\s+([A-Za-z_]\w*)|^(data|train)\s*\{")


@dataclass(frozen=True)
class Context:
    section: str | None  # "model", "block", "data", "train" or None at the top level
    scope: str | None  # the model or block name
    call: str | None  # the innermost unclosed call's name
    argument: str | None  # `name=` being given a value inside that call
    field: str | None  # `field =` being given a value in data/train
    step_start: bool  # where a step can start: a statement start or after `->`
    line_start: bool


def context(lines: list[str], pos: Position) -> Context:
    line, col = pos
    before = lines[line - 1][: col - 1] if 1 <= line <= len(lines) else ""
    section = scope = None
    start = 1
    for n in range(line, 0, -1):
        text = lines[n - 1] if n - 1 < len(lines) else ""
        if n < line and text and not text[0].isspace() and not text.startswith("#"):
            m = HEADER.match(text)
            if m:
                section = m.group(1) or m.group(3)
                scope = m.group(2)
                start = n + 1
            break
    # The statement so far: this line and earlier lines of the same item with an open bracket.
    stmt = "\n".join([*(lines[start - 1 : line - 1]), before])
    call, argument = _open_call(stmt)
    word = re.search(r"[A-Za-z_]\w*$", before)
    head = before[: word.start()] if word else before
    line_start = not head.strip()
    field_match = re.match(r"^\s*([A-Za-z_]\w*)\s*=\s*", before)
    field = field_match.group(1) if field_match and section in ("data", "train") else None
    step_start = head.rstrip().endswith("->") or (
        line_start and section in ("model", "block") and call is None
    )
    if section in ("model", "block") and call is None:
        step_start = step_start or (bool(re.search(r"=\s*$", head)) and "->" not in head)
    return Context(section, scope, call, argument, field, step_start, line_start and call is None)


def _open_call(text: str) -> tuple[str | None, str | None]:
    """The innermost unclosed `Name(` and the `arg=` being written in it, skipping strings."""
    stack: list[int] = []
    in_string = False
    cleaned = []
    for ch in text:
        if in_string:
            in_string = ch != '"'
            cleaned.append(" ")
            continue
        if ch == '"':
            in_string = True
        cleaned.append(ch)
    flat = "".join(cleaned)
    for i, ch in enumerate(flat):
        if ch in "([{":
            stack.append(i)
        elif ch in ")]}" and stack:
            stack.pop()
    for i in reversed(stack):
        if flat[i] != "(":
            continue
        m = re.search(r"([A-Za-z_]\w*)$", flat[:i])
        if m is None:
            return None, None
        inside = flat[i + 1 :]
        depth = 0
        last = 0
        for j, ch in enumerate(inside):
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                last = j + 1
        arg = re.match(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*[A-Za-z_]*$", inside[last:])
        return m.group(1), arg.group(1) if arg else None
    return None, None


def completions(lines: list[str], pos: Position, index: Index | None) -> list[lsp.CompletionItem]:
    ctx = context(lines, pos)
    if ctx.call is not None:
        return _in_call(ctx, index)
    if ctx.section in ("data", "train"):
        if ctx.field is not None:
            return _names(VALUES.get(ctx.field, ()), lsp.CompletionItemKind.EnumMember) + _scope(
                index, None
            )
        if ctx.line_start:
            return [
                lsp.CompletionItem(f, kind=lsp.CompletionItemKind.Field, insert_text=f"{f} = ")
                for f in SECTION_FIELDS[ctx.section]
            ]
        return _scope(index, None)
    if ctx.section is None:
        items = _scope(index, None)
        if ctx.line_start:
            items += _names(TOP_KEYWORDS, lsp.CompletionItemKind.Keyword)
        return items
    items = _scope(index, ctx.scope) + _ops()
    if ctx.step_start:
        items = _layers() + items
    if ctx.line_start:
        items += _names(BODY_KEYWORDS, lsp.CompletionItemKind.Keyword)
    return items


def _in_call(ctx: Context, index: Index | None) -> list[lsp.CompletionItem]:
    assert ctx.call is not None
    layer = lookup(ctx.call)
    block = _block(index, ctx.call)
    if ctx.argument is not None:
        if layer is not None and ctx.argument in layer.params():
            p = layer.params()[ctx.argument]
            if ctx.argument == "activation":
                return _names(kn.ACTIVATIONS, lsp.CompletionItemKind.EnumMember)
            if p.choices:
                return _names(p.choices, lsp.CompletionItemKind.EnumMember)
            if isinstance(p.default, bool):
                return _names(("true", "false"), lsp.CompletionItemKind.EnumMember)
        return _scope(index, ctx.scope)
    items: list[lsp.CompletionItem] = []
    if layer is not None:
        items += [_argument(p) for p in layer.params().values()]
        items += [
            lsp.CompletionItem(
                t,
                kind=lsp.CompletionItemKind.Variable,
                detail="call-time tensor",
                insert_text=f"{t}=",
            )
            for t in layer.call_tensors
        ]
    elif block is not None:
        for bp in block.params:
            default = "" if bp.default is None else " (has a default)"
            items.append(
                lsp.CompletionItem(
                    bp.name,
                    kind=lsp.CompletionItemKind.Property,
                    detail=f"{block.name} parameter{default}",
                    insert_text=f"{bp.name}=",
                )
            )
    return items + _scope(index, ctx.scope)


def _argument(p: Param) -> lsp.CompletionItem:
    detail = "required" if p.required else f"default {spec_text(p.default)}"
    if p.choices:
        detail += f"; one of {', '.join(p.choices)}"
    return lsp.CompletionItem(
        p.name, kind=lsp.CompletionItemKind.Property, detail=detail, insert_text=f"{p.name}="
    )


def _layers() -> list[lsp.CompletionItem]:
    out = []
    for name, cls in CATALOG.items():
        out.append(_layer_item(name, cls))
    for alias, target in ALIASES.items():
        aliased = lookup(target)
        if aliased is not None:
            out.append(_layer_item(alias, aliased))
    known = set(CATALOG) | set(ALIASES)
    for name in kn.KERAS_LAYERS:
        if name not in known and name not in kn.REFUSED_LAYERS:
            out.append(
                lsp.CompletionItem(
                    name,
                    kind=lsp.CompletionItemKind.Class,
                    detail="keras.layers, not statically checked",
                )
            )
    return out


def _ops() -> list[lsp.CompletionItem]:
    """keras.ops functions from the catalog, written `ops.NAME(...)` between layers."""
    return [
        lsp.CompletionItem(
            cls.op_name(),
            kind=lsp.CompletionItemKind.Function,
            detail=f"keras.ops.{cls.function}({', '.join(cls.signature)})",
        )
        for cls in OPS.values()
    ]


def _layer_item(name: str, cls: type[LayerSpec]) -> lsp.CompletionItem:
    required = ", ".join(cls.required())
    return lsp.CompletionItem(
        name,
        kind=lsp.CompletionItemKind.Class,
        detail=f"{cls.keras_class}({required})",
        documentation=(cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else None,
    )


def _block(index: Index | None, name: str) -> ir.Block | None:
    if index is None:
        return None
    return next((i for i in index.spec.items if isinstance(i, ir.Block) and i.name == name), None)


KINDS = {
    "model": lsp.CompletionItemKind.Module,
    "block": lsp.CompletionItemKind.Function,
    "constant": lsp.CompletionItemKind.Constant,
    "shared layer": lsp.CompletionItemKind.Class,
    "layer class": lsp.CompletionItemKind.Class,
}


def _scope(index: Index | None, scope: str | None) -> list[lsp.CompletionItem]:
    if index is None:
        return []
    return [
        lsp.CompletionItem(
            name, kind=KINDS.get(d.kind, lsp.CompletionItemKind.Variable), detail=d.kind
        )
        for name, d in index.visible(scope).items()
    ]


def _names(
    names: tuple[str, ...] | list[str], kind: lsp.CompletionItemKind
) -> list[lsp.CompletionItem]:
    return [lsp.CompletionItem(n, kind=kind) for n in dict.fromkeys(names)]
