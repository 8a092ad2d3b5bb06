"""A whole file -> Checked: imports, constants, overrides, models, data and train sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kspec.check.evaluate import Evaluator, Scope, Skip, block_scope, work_budget
from kspec.check.graph import Checked, Graph, Phase, Setting
from kspec.check.imports import DiskFiles, ImportFiles, Refused, shown_path
from kspec.check.model import ModelChecker, ModelState
from kspec.check.phases import SELECTOR_FIELDS, check_phase, check_selectors, set_field
from kspec.check.schedules import check_schedules
from kspec.check.sections import SECTION_FIELDS, check_against_model, check_field
from kspec.check.values import BlockDef, BlockRef, ModelDef, ModelRef, UseDef
from kspec.diagnostics import Diagnostic, Diagnostics, KspecError, suggest
from kspec.limits import MAX_NESTING
from kspec.source import NO_SPAN, Source, Span
from kspec.syntax import ir
from kspec.syntax.parse import parse, paused_gc, printable


@dataclass
class Override:
    """`--set NAME=VALUE`: VALUE is spec syntax, parsed from its own pseudo-source."""

    name: str
    value: ir.Expr
    span: Span


def parse_overrides(pairs: list[str] | dict[str, Any], diags: Diagnostics) -> list[Override]:
    out: list[Override] = []
    items = pairs.items() if isinstance(pairs, dict) else [_split(p) for p in pairs]
    for i, (name, text) in enumerate(items, 1):
        path = f"--set[{i}]" if len(items) > 1 else "--set"
        if name is None:  # no '=' at all
            diags.sources[path] = Source(path, text)
            example = f"{text}=..." if text.replace(".", "_").isidentifier() else "units=256"
            diags.error(
                f"--set '{text}' has no '='",
                Span(1, 1, 1, len(text) + 1, path),
                code="bad-override",
                help=f"write --set NAME=VALUE, e.g. --set {example}",
            )
            continue
        if not isinstance(text, str):
            from kspec.check.evaluate import spec_text

            text = spec_text(text)
        line = f"{name}={text}"
        diags.sources[path] = Source(path, printable(line))
        if not name or not all(part.isidentifier() for part in name.split(".")):
            diags.error(
                f"bad --set '{line}'",
                Span(1, 1, 1, len(line) + 1, path),
                code="bad-override",
                help="write --set NAME=VALUE, e.g. --set units=256 or --set train.epochs=1",
            )
            continue
        try:
            # Parse `_   =VALUE` so that VALUE keeps its columns in `NAME=VALUE`.
            spec = parse("_" + " " * (len(name) - 1) + "=" + text, path)
        except KspecError as e:
            for d in e.diagnostics:
                diags.add(d)
            continue
        item = spec.items[0] if len(spec.items) == 1 else None
        if not isinstance(item, ir.Const):
            diags.error(
                f"bad --set value '{text}'",
                Span(1, len(name) + 2, 1, len(line) + 1, path),
                code="bad-override",
                help="the value is one spec expression",
            )
            continue
        out.append(Override(name, item.value, Span(1, 1, 1, len(name) + 1, path)))
    return out


def _split(pair: str) -> tuple[str | None, str]:
    name, sep, value = pair.partition("=")
    return (name.strip(), value) if sep else (None, pair)


@dataclass
class FileScope:
    path: str
    spec: ir.Spec
    globals: dict[str, Any] = field(default_factory=dict)


class SpecChecker:
    """Checks one file and what it imports; collects every diagnostic before raising."""

    def __init__(self, diags: Diagnostics, imports: ImportFiles | None = None):
        self.diags = diags
        self.imports = imports if imports is not None else DiskFiles()
        self.files: dict[str, FileScope] = {}
        self.graphs: dict[tuple[str, str], Graph] = {}
        self.checking: list[tuple[str, str]] = []
        self.model_refs: dict[tuple[str, str], ModelRef] = {}
        self.depths: dict[int, int] = {}  # id(Graph) -> how deep models nest in it

    # -- files and imports ------------------------------------------------------------
    def load(
        self,
        text: str,
        path: str,
        stack: tuple[str, ...],
        overrides: list[Override],
        parsed: ir.Spec | None = None,
    ) -> FileScope:
        self.diags.sources[path] = Source(path, text)
        spec = parse(text, path) if parsed is None else parsed  # the editor reparses in part
        scope = FileScope(path, spec)
        self.files[path] = scope
        g = scope.globals
        defined: dict[str, Span] = {}
        for item in spec.items:
            name, span = _item_name(item)
            if name is None:
                continue
            if name in defined:
                first = defined[name]
                self.diags.error(
                    f"'{name}' is defined twice (first at line {first.line})",
                    span,
                    code="duplicate-name",
                )
                continue
            defined[name] = span
        for item in spec.items:
            match item:
                case ir.Import():
                    self.import_file(scope, item, stack)
                case ir.Use():
                    g[item.bound_name] = UseDef(item.target, item.span)
                case ir.Block(name):
                    g[name] = BlockDef(item, path)
                case ir.Model(name):
                    g[name] = ModelDef(item, path)
        consts = {i.name: i for i in spec.items if isinstance(i, ir.Const)}
        for o in overrides:
            if "." not in o.name and o.name in consts:
                consts[o.name] = ir.Const(o.name, o.value, span=o.span)
        evaluator = Evaluator(self.diags, Scope(g))
        for const in consts.values():
            try:
                g[const.name] = evaluator.eval(const.value)
            except Skip:
                from kspec.check.evaluate import POISON

                g[const.name] = POISON
        return scope

    def refused(self, item: ir.Import, why: Refused) -> None:
        """An import that is not found, or not read (not a regular file, too big)."""
        self.diags.error(
            f"cannot import '{shown_path(item.path)}': {why.reason}",
            item.span,
            code=why.code,
            help=why.help,
        )

    def import_file(self, scope: FileScope, item: ir.Import, stack: tuple[str, ...]) -> None:
        found = self.imports.find(item.path, scope.path, root=not stack)
        if isinstance(found, Refused):
            self.refused(item, found)
            return
        key = found
        if key in stack or key == scope.path:
            chain = list(stack[stack.index(key) :]) if key in stack else []
            cycle = " -> ".join([*chain, scope.path, key])
            self.diags.error(
                f"import cycle: {cycle}",
                item.span,
                code="import-cycle",
                help="move what both files need into a third file that neither imports",
            )
            return
        if key not in self.files:
            text = self.imports.read(key)
            if isinstance(text, Refused):
                self.refused(item, text)
                return
            try:
                spec = parse(text, key)
            except KspecError as e:  # not a spec: say so at the import, echoing none of it
                first = e.diagnostics[0]
                self.diags.error(
                    f"cannot import '{shown_path(item.path)}': it is not a spec (line "
                    f"{first.span.line}, column {first.span.column}: {first.message})",
                    item.span,
                    code="import-refused",
                    help="an import names a .kspec file; its text is not shown here",
                )
                return
            try:
                self.load(text, key, (*stack, scope.path), [], spec)
            except KspecError as e:
                for d in e.diagnostics:
                    self.diags.add(d)
                self.diags.sources.update(e.sources)
                return
        imported = self.files[key]
        for name, value in imported.globals.items():
            scope.globals.setdefault(name, value)

    # -- models -----------------------------------------------------------------------
    def model_graph(self, model: ir.Model, file: str) -> Graph:
        key = (file, model.name)
        if key in self.graphs:
            return self.graphs[key]
        graph = Graph(model.name, model.name_span)
        state = ModelState(graph)
        checker = ModelChecker(self.diags, Scope(self.files[file].globals), state, self)
        self.checking.append(key)
        outer_refs, self.model_refs = self.model_refs, {}  # each model has its own nested layers
        try:
            checker.run(model.body)
        finally:
            self.checking.pop()
            self.model_refs = outer_refs
        outputs = checker.outputs
        if not outputs and checker.current is not None and graph.complete:
            outputs = [(None, checker.current, NO_SPAN)]
        for name, value, span in outputs:
            for t in value if isinstance(value, list) else [value]:
                graph.outputs.append(t)
                graph.output_names.append(name)
                if name is not None:
                    self.name_output(graph, state, t, name, span)
        if not graph.outputs and graph.complete:
            self.diags.error(
                f"model {model.name} has no output",
                model.name_span,
                code="no-output",
                help="add layers after the input, or an `output` statement",
            )
        checker.warn_unused()
        self.graphs[key] = graph
        return graph

    def name_output(self, graph: Graph, state: ModelState, t: Any, name: str, span: Span) -> None:
        """Keras names a model output after the layer that produces it: rename that layer."""
        layer = t.layer
        if layer.name == name:
            return
        if name in state.used_names:
            self.diags.error(
                f"output name '{name}' is already a layer name in this model",
                span,
                code="duplicate-name",
            )
            return
        if not layer.is_input and len(layer.calls) == 1 and not t.call.multi_output:
            state.used_names.discard(layer.name)
            layer.name = name
            state.used_names.add(name)
            return
        self.diags.error(
            f"output '{name}' is a tensor that Keras cannot name",
            span,
            code="output-name",
            help="give the output its own layer, e.g. -> Identity()",
        )

    def model_ref(self, d: ModelDef, span: Span) -> ModelRef:
        key = (d.globals_key, d.model.name)
        if key in self.checking:
            cycle = " -> ".join(
                [k[1] for k in self.checking[self.checking.index(key) :]] + [d.model.name]
            )
            self.diags.error(
                f"model recursion: {cycle}",
                span,
                code="model-recursion",
                help="a model cannot contain itself, even through other models",
            )
            raise Skip()
        if key not in self.model_refs and len(self.checking) >= MAX_NESTING:
            self.diags.error(
                f"models are nested more than {MAX_NESTING} deep here", span, code="too-deep"
            )
            raise Skip()
        if key not in self.model_refs:
            graph = self.model_graph(d.model, d.globals_key)
            if not graph.complete:
                raise Skip()
            self.model_refs[key] = ModelRef(d.model.name, graph)
            inner = (self.depths.get(id(layer.spec), 0) for layer in graph.layers)
            self.depths[id(graph)] = 1 + max(inner, default=0)
        if self.depths[id(self.model_refs[key].graph)] >= MAX_NESTING:
            # Each model checked on its own stays shallow, but backends recurse per level.
            self.diags.error(
                f"models are nested more than {MAX_NESTING} deep here", span, code="too-deep"
            )
            raise Skip()
        return self.model_refs[key]

    def block_scope(self, ref: BlockRef, caller: ModelChecker) -> Scope:
        return block_scope(ref, self.files[ref.globals_key].globals, self.diags)

    # -- sections ---------------------------------------------------------------------
    def sections(
        self, scope: FileScope, overrides: list[Override]
    ) -> tuple[dict[str, dict[str, Setting]], list[Phase]]:
        out: dict[str, dict[str, Setting]] = {"data": {}, "train": {}}
        phases: dict[str, Phase] = {}
        seen: set[str] = set()
        evaluator = Evaluator(self.diags, Scope(scope.globals))
        for item in scope.spec.items:
            if not isinstance(item, ir.Section):
                continue
            if item.kind in seen:
                self.diags.error(
                    f"a second '{item.kind}' section",
                    item.span,
                    code="duplicate-name",
                    help="merge the two sections into one",
                )
            seen.add(item.kind)
            for f in item.fields:
                if f.name in out[item.kind]:
                    self.diags.error(
                        f"{item.kind}.{f.name} is set twice", f.span, code="duplicate-name"
                    )
                    continue
                self.field(item.kind, f.name, f.value, f.span, evaluator, out)
            for p in item.phases:
                if p.name in phases:
                    self.diags.error(
                        f"a second phase '{p.name}'", p.name_span, code="duplicate-name"
                    )
                    continue
                phases[p.name] = check_phase(p, evaluator, self.diags)
        for o in overrides:
            section, _, name = o.name.partition(".")
            phase, dot, phase_field = name.partition(".")
            if section == "train" and dot:  # --set train.finetune.epochs=1
                self.phase_override(phases, phase, phase_field, o, evaluator)
            elif section in out and name:
                self.field(section, name, o.value, o.span, evaluator, out)
        return out, list(phases.values())

    def phase_override(
        self,
        phases: dict[str, Phase],
        name: str,
        field: str,
        o: Override,
        evaluator: Evaluator,
    ) -> None:
        if name not in phases:
            self.diags.error(
                f"the train section has no phase '{name}'",
                o.span,
                code="bad-override",
                help=suggest(name, phases) or "phases are written `phase NAME { ... }` in train",
            )
            return
        phase = phases[name]
        phase.fields.pop(field, None)
        if field in SELECTOR_FIELDS:
            phase.changes = [c for c in phase.changes if c[0] != (field == "unfreeze")]
        set_field(phase, field, o.value, o.span, evaluator, self.diags)

    def field(
        self,
        section: str,
        name: str,
        expr: ir.Expr,
        span: Span,
        evaluator: Evaluator,
        out: dict[str, dict[str, Setting]],
    ) -> None:
        if name not in SECTION_FIELDS[section]:  # point at the name, not at its value
            if span.path.startswith("--set"):  # suggest in the form it was written: train.epochs
                known = [f"{section}.{f}" for f in SECTION_FIELDS[section]]
                self.diags.error(
                    f"unknown {section} field '{name}'",
                    span,
                    code="unknown-field",
                    help=suggest(f"{section}.{name}", known),
                )
                return
            check_field(section, name, None, _name_span(span, name), self.diags)
            return
        try:
            value = evaluator.eval(expr)
        except Skip:
            return
        if isinstance(value, ModelDef | BlockDef):  # `model = encoder`, `source = mnist`: names
            value = value.model.name if isinstance(value, ModelDef) else value.block.name
        checked = check_field(
            section,
            name,
            value,
            expr.span if span.path.startswith("--set") is False else span,
            self.diags,
        )
        if checked is not None or value is None:
            out[section][name] = Setting(checked, expr.span)


def check_text(
    text: str,
    path: str = "<string>",
    overrides: list[str] | dict[str, Any] | None = None,
    *,
    raise_errors: bool = True,
    parsed: ir.Spec | None = None,
    imports: ImportFiles | None = None,
) -> tuple[Checked | None, Diagnostics]:
    """Check a spec; returns the Checked result and all diagnostics (warnings included).

    `parsed` is `text`'s IR when the caller has it (the language server reparses edits in part).
    `imports` is where `import` lines read their files: by default the disk, relative to `path`.
    """
    # paused_gc: a big spec's graph makes every collection walk more (PERF-NOTES.md)
    with paused_gc(), work_budget():
        return _check_text(
            text, path, overrides, raise_errors=raise_errors, parsed=parsed, imports=imports
        )


def _check_text(
    text: str,
    path: str,
    overrides: list[str] | dict[str, Any] | None,
    *,
    raise_errors: bool,
    parsed: ir.Spec | None = None,
    imports: ImportFiles | None = None,
) -> tuple[Checked | None, Diagnostics]:
    diags = Diagnostics()
    sc = SpecChecker(diags, imports)
    ovs = parse_overrides(overrides or [], diags)
    try:
        scope = sc.load(text, path, (), ovs, parsed)
    except KspecError as e:
        diags.sources.update(e.sources)
        for d in e.diagnostics:
            diags.add(d)
        if raise_errors:
            raise KspecError(diags.items, diags.sources) from None
        return None, diags
    _check_override_names(scope, ovs, diags)
    models: dict[str, Graph] = {}
    for item in scope.spec.items:
        if isinstance(item, ir.Model):
            models[item.name] = sc.model_graph(item, path)
    settings, phases = sc.sections(scope, ovs)
    choice = settings["train"].get("model")
    imported = scope.globals.get(str(choice.value)) if choice is not None else None
    if choice is not None and choice.value not in models and isinstance(imported, ModelDef):
        # `import "lib.kspec"` then `train { model = enc }`: the imported model is trained
        models[str(choice.value)] = sc.model_graph(imported.model, imported.globals_key)
    has_imports = any(isinstance(item, ir.Import) for item in scope.spec.items)
    if not models and has_imports and (settings["data"] or settings["train"]):
        # `import "lib.kspec"` with train but no model to train: say so at check time
        where = next(iter({**settings["train"], **settings["data"]}.values())).span
        names = sorted(k for k, v in scope.globals.items() if isinstance(v, ModelDef))
        diags.error(
            f"{Path(path).name if path else 'this file'} defines no model for its "
            "data and train sections",
            where,
            code="no-model",
            help=f"name an imported one: train {{ model = {names[0]} }}"
            if names
            else "add `model NAME { ... }`, or import a file that defines one",
        )
    constants = {
        k: v for k, v in scope.globals.items() if not isinstance(v, BlockDef | ModelDef | UseDef)
    }
    used = {k: v for k, v in scope.globals.items() if isinstance(v, UseDef)}
    checked = Checked(
        scope.spec,
        path,
        models,
        settings["data"],
        settings["train"],
        constants,
        diags.sources,
        uses={k: v.target for k, v in used.items()},
        use_spans={k: v.span for k, v in used.items()},
        scopes={key: file.globals for key, file in sc.files.items()},
        phases=phases,
    )
    _check_model_choice(checked, diags)
    if models and not diags.errors:
        graph = checked.model()  # train.model was checked just above
        if graph.complete:
            check_against_model(graph, checked.data, checked.train, diags)
            check_schedules(checked, graph, diags)
            check_selectors(graph, phases, diags)
    checked.warnings = diags.warnings
    if diags.errors and raise_errors:
        diags.raise_if_any()
    return checked, diags


def _check_override_names(scope: FileScope, ovs: list[Override], diags: Diagnostics) -> None:
    consts = [i.name for i in scope.spec.items if isinstance(i, ir.Const)]
    for o in ovs:
        section, dot, _ = o.name.partition(".")
        if dot:
            if section not in SECTION_FIELDS:
                fields = [f"{s}.{f}" for s, fs in SECTION_FIELDS.items() for f in fs]
                diags.error(
                    f"unknown --set target '{o.name}'",
                    o.span,
                    code="bad-override",
                    help=suggest(o.name, fields)
                    or "override a constant, or a field as data.NAME / train.NAME",
                )
            # field names are checked with the section
            continue
        if o.name not in consts:
            fields = [f"{s}.{f}" for s, fs in SECTION_FIELDS.items() for f in fs]
            diags.error(
                f"this file has no constant '{o.name}' to override",
                o.span,
                code="bad-override",
                help=suggest(o.name, [*consts, *fields])
                or (
                    f"constants: {', '.join(consts)}"
                    if consts
                    else "this file defines no constants"
                ),
            )


def _check_model_choice(checked: Checked, diags: Diagnostics) -> None:
    choice = checked.train.get("model")
    if choice is not None and choice.value not in checked.models:
        diags.error(
            f"train.model: no model named '{choice.value}'",
            choice.span,
            code="unknown-model",
            help=suggest(str(choice.value), checked.models)
            or f"models in this file: {', '.join(checked.models) or 'none'}",
        )
        del checked.train["model"]
    elif choice is None and len(checked.models) > 1 and checked.train:
        first = next(iter(checked.train.values()))
        diags.warning(
            f"this file has {len(checked.models)} models and train.model does not pick one; "
            f"training uses the last, '{list(checked.models)[-1]}'",
            first.span,
            code="ambiguous-model",
        )


def _item_name(item: ir.Item) -> tuple[str | None, Span]:
    match item:
        case ir.Model(name) | ir.Block(name):
            return name, item.name_span
        case ir.Const(name):
            return name, _name_span(item.span, name)
    return None, item.span


def _name_span(span: Span, name: str) -> Span:
    """The name at the start of a `name = value` statement."""
    return Span(span.line, span.column, span.line, span.column + len(name), span.path)


def read_spec(path: str | Path) -> str:
    """A spec file's text; a file that cannot be read is a `file-error` diagnostic."""
    from kspec.files import NotRegular, read_text

    try:
        return read_text(path)
    except NotRegular as e:
        shown = shown_path(str(path))
        raise KspecError(
            [Diagnostic("file-error", f"cannot read {shown}: it {e}", Span(0, 0, 0, 0, shown))]
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise KspecError(
            [Diagnostic("file-error", f"cannot read {path}: {reason}", Span(0, 0, 0, 0, str(path)))]
        ) from None


def check_file(path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Checked:
    checked, _ = check_text(read_spec(path), str(path), overrides)
    assert checked is not None
    return checked
