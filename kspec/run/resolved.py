"""The spec as it ran: the file's IR with every `--set` applied, re-printed by the spec printer.

Printing the IR (rather than splicing override text into the file) gives text that parses to
exactly what was trained, whatever the override's value looks like.
"""

from __future__ import annotations

from dataclasses import replace

from kspec.check.graph import Checked
from kspec.check.spec import parse_overrides
from kspec.diagnostics import Diagnostics
from kspec.syntax import ir
from kspec.syntax.printer import print_spec


def resolved_ir(spec: ir.Spec, overrides: list[str]) -> ir.Spec:
    items = list(spec.items)
    for o in parse_overrides(overrides, Diagnostics()):
        section, dot, name = o.name.partition(".")
        if not dot:
            items = [
                replace(i, value=o.value) if isinstance(i, ir.Const) and i.name == o.name else i
                for i in items
            ]
            continue
        phase, sub, phase_field = name.partition(".")
        at = next(
            (n for n, i in enumerate(items) if isinstance(i, ir.Section) and i.kind == section),
            None,
        )
        if at is None:
            items.append(ir.Section(section, ()))
            at = len(items) - 1
        target = items[at]
        assert isinstance(target, ir.Section)
        if sub:
            phases = tuple(
                replace(p, fields=_set(p.fields, phase_field, o.value)) if p.name == phase else p
                for p in target.phases
            )
            items[at] = replace(target, phases=phases)
        else:
            items[at] = replace(target, fields=_set(target.fields, name, o.value))
    return replace(spec, items=tuple(items))


def _set(fields: tuple[ir.Field, ...], name: str, value: ir.Expr) -> tuple[ir.Field, ...]:
    if any(f.name == name for f in fields):
        return tuple(replace(f, value=value) if f.name == name else f for f in fields)
    return (*fields, ir.Field(name, value))


def resolved_spec(checked: Checked, overrides: list[str]) -> str:
    """resolved.kspec's text: a header naming the overrides, then the printed spec."""
    header = ["# resolved by `kspec run`: the spec exactly as it was trained"]
    header += [f"# --set {item}" for item in overrides]
    return "\n".join(header) + "\n" + print_spec(resolved_ir(checked.spec, overrides))
