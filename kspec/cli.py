"""The `kspec` command: the only place that prints or exits."""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kspec import __version__
from kspec.diagnostics import Diagnostic, KspecError, render_all

if TYPE_CHECKING:
    from kspec.check.graph import Checked, Graph

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

MAIN_HELP = """\
kspec compiles .kspec model specs: check them, print their summary, build and train them,
or turn them into plain Keras scripts.

examples:
  kspec check examples/*.kspec
  kspec summary examples/mnist.kspec
  kspec run examples/digits.kspec --epochs 3
"""


class UsageError(Exception):
    pass


def _model(checked: Checked, name: str | None) -> Graph:
    """`--model NAME`: a wrong name is a usage error (exit 2), worded by Checked.model."""
    try:
        return checked.model(name)
    except KspecError as e:
        if name is None:
            raise
        d = e.diagnostics[0]
        raise UsageError(f"{d.message}; {d.help}" if d.help else d.message) from None


def _common(p: argparse.ArgumentParser, *, formats: bool = True) -> None:
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a constant or a data./train. field (VALUE is spec syntax)",
    )
    if formats:
        p.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="text for people, json for tools (default: text)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kspec", description=MAIN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"kspec {__version__}")
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # so that `kspec --debug CMD` and `kspec CMD --debug` both work
        help="on an internal error, print kspec's own traceback (also: KSPEC_DEBUG=1)",
    )
    parser.add_argument("--debug", action="store_true", default=False, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, epilog, configure, _) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            parents=[debug],
        )
        configure(p)
    return parser


# -- check -------------------------------------------------------------------------------
def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", nargs="+", metavar="FILE", help=".kspec files to check (folders: every one inside)"
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _common(p)


def cmd_check(args: argparse.Namespace) -> int:
    from kspec.check.spec import check_text

    everything: list[Diagnostic] = []
    sources: dict[str, Any] = {}
    failed = False
    files = _spec_files(args.files)
    for path in files:
        text = _read(path)
        _, diags = check_text(text, path, args.overrides, raise_errors=False)
        everything.extend(diags.items)
        sources.update(diags.sources)
        if diags.errors or (args.strict and diags.warnings):
            failed = True
    if args.format == "json":
        print(
            json.dumps(
                {"ok": not failed, "diagnostics": [d.to_json() for d in everything]}, indent=2
            )
        )
    else:
        if everything:
            print(render_all(everything, sources), file=sys.stderr)
        n_err = sum(d.severity == "error" for d in everything)
        n_warn = len(everything) - n_err
        count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
        status = "failed" if failed else "ok"
        print(
            f"{status}: {count}, {n_err} error{'s' if n_err != 1 else ''}, "
            f"{n_warn} warning{'s' if n_warn != 1 else ''}",
            file=sys.stderr,
        )
    return EXIT_SPEC if failed else EXIT_OK


# -- summary -----------------------------------------------------------------------------
def _configure_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--model", help="print only this model (default: every model of the file)")
    p.add_argument(
        "--phase", help="the trainable split in this training phase (a `phase NAME` of train)"
    )
    p.add_argument(
        "--trainable",
        action="store_true",
        help="add Keras's Trainable column (Y, N, or - for a layer without weights)",
    )
    _common(p)


def cmd_summary(args: argparse.Namespace) -> int:
    import shutil

    from kspec.check.spec import check_text
    from kspec.report.summary import line_length, render_summary, summary_json

    checked, diags = check_text(_read(args.file), args.file, args.overrides, raise_errors=False)
    if diags.errors or checked is None:
        raise KspecError(diags.items, diags.sources)
    # The checked graph lives until the process ends: collections need not walk it again.
    gc.freeze()
    _print_warnings(diags.warnings, diags.sources, args.format)
    flags, phase = None, args.phase
    if args.phase is not None:
        graphs = [_model(checked, args.model)]
        flags = _phase_flags(checked, graphs[0], args.phase)
    elif args.model is not None or not checked.models:  # no model at all: Checked.model says so
        graphs = [_model(checked, args.model)]
    else:
        graphs = list(checked.models.values())
    if args.format == "json":  # always a list, one entry per model
        print(json.dumps([summary_json(g, flags, phase) for g in graphs], indent=2))
        return EXIT_OK
    columns = shutil.get_terminal_size().columns  # as Keras: COLUMNS, the terminal, or 80
    tables = [
        render_summary(
            g,
            flags,
            phase,
            width=line_length(g, args.trainable, columns),
            trainable=args.trainable,
        )
        for g in graphs
    ]
    print("\n\n".join(tables))
    return EXIT_OK


def _phase_flags(checked: Checked, graph: Graph, phase: str) -> Any:
    """Each layer's trainable flag in training phase `phase`."""
    from kspec.check.phases import phase_flags
    from kspec.diagnostics import suggest

    names = [p.name for p in checked.phases]
    if phase not in names:
        known = f"its phases: {', '.join(names)}" if names else "it has no `phase NAME { ... }`"
        raise UsageError(
            f"the train section has no phase '{phase}'; " + (suggest(phase, names) or known)
        )
    return phase_flags(graph, checked.phases)[names.index(phase) + 1]


# -- run, evaluate, predict ---------------------------------------------------------------
def _configure_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", metavar="FILE", help="the .kspec file to train")
    p.add_argument("--epochs", type=int, metavar="N", help="override train.epochs")
    p.add_argument("--output", "-o", metavar="DIR", help="run folder (default: runs/MODEL-TIME/)")
    p.add_argument("--model", metavar="NAME", help="which model of the file to train")
    p.add_argument("--quiet", "-q", action="store_true", help="one line per epoch, no bar")
    p.add_argument(
        "--verbose",
        "-v",
        type=int,
        choices=(0, 1, 2),
        metavar="N",
        help="as Keras's verbose: 0 silent, 1 a progress bar (default), 2 one line per epoch",
    )
    p.add_argument(
        "--resume",
        metavar="DIR",
        help="continue an interrupted, killed or failed run; with --epochs N, extend a "
        "finished run to N epochs",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the run in --output; with --resume, continue past an unreadable history.json",
    )
    _common(p, formats=False)


def _print_note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kspec.check.spec import check_text
    from kspec.run import train

    if args.epochs is not None and args.epochs < 1:
        raise UsageError("--epochs must be at least 1")
    options = train.RunOptions(
        epochs=args.epochs,
        output=args.output,
        model=args.model,
        quiet=args.quiet,
        verbose=args.verbose,
        overrides=list(args.overrides),
        note=_print_note,
        force=args.force,
    )
    if args.resume is not None:
        if args.file or args.overrides or args.model or args.output:
            raise UsageError(
                "--resume DIR continues a run as it started; give nothing else but --epochs N"
            )
        result = train.resume(Path(args.resume), options)
    else:
        if args.file is None:
            raise UsageError("give a FILE to train, or --resume DIR")
        epochs = [f"train.epochs={args.epochs}"] if args.epochs else []  # the checker sees them
        checked, diags = check_text(
            _read(args.file), args.file, [*args.overrides, *epochs], raise_errors=False
        )
        if diags.errors or checked is None:
            raise KspecError(diags.items, diags.sources)
        _print_warnings(diags.warnings, diags.sources, "text")
        try:
            result = train.run(checked, options)
        except train.RunExists as e:
            print(e.render(), file=sys.stderr)
            return EXIT_USAGE
    shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items() if isinstance(v, float))
    state = "interrupted" if result.interrupted else "done"
    print(
        f"{state}: {result.epochs} epoch{'s' if result.epochs != 1 else ''}; "
        f"{result.metrics.get('data', 'validation')} {shown}"
    )
    print(f"run folder: {result.run_dir}")
    if result.interrupted:
        print(f"continue with: kspec run --resume {result.run_dir}", file=sys.stderr)
        return 130
    return EXIT_OK


def _configure_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="DIR|MODEL", help="a run folder or a .keras file")
    p.add_argument(
        "--data",
        metavar="SPEC|SOURCE",
        help="a .kspec file whose data section to use, or a source such as "
        "'idx(\"dir\")' (default: the run's own data)",
    )
    p.add_argument("--batch-size", type=int, metavar="N", help="default: the run's batch_size")
    p.add_argument("--scale", metavar="S", help="multiply inputs by S (default: the run's scale)")
    p.add_argument("--format", choices=("text", "json"), default="text")


SPLITS = {"test": "the source's own test split", "validation": "the validation split",
          "all": "all of the data (it has no test or validation split)"}  # fmt: skip


def cmd_evaluate(args: argparse.Namespace) -> int:
    from kspec.run.inference import evaluate

    metrics = evaluate(args.target, args.data, args.batch_size, args.scale)
    if args.format == "json":
        print(json.dumps(metrics, indent=2))
    else:
        prepared = metrics.pop("prepared")
        print(f"{SPLITS[metrics.pop('data')]}, {metrics.pop('examples'):,} examples")
        print(f"inputs scaled by {prepared['scale'] or 'nothing'} ({prepared['from']})")
        for name, value in metrics.items():
            print(f"{name:<24} {value:.6g}")
    return EXIT_OK


def _configure_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="DIR|MODEL", help="a run folder or a .keras file")
    p.add_argument("input", metavar="INPUT", help="INPUT.npy (INPUT.npz: one array per input name)")
    p.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT",
        help="the predictions: .npy, .npz (one array per output), .csv (with a header) or .json",
    )
    p.add_argument(
        "--classes",
        action="store_true",
        help="write each example's class index and its probability instead of the scores",
    )
    p.add_argument("--scale", metavar="S", help="multiply inputs by S (default: the run's scale)")
    p.add_argument("--batch-size", type=int, metavar="N", help="default: the run's batch_size")


def cmd_predict(args: argparse.Namespace) -> int:
    from kspec.run.inference import predict

    result = predict(
        args.target,
        args.input,
        args.output,
        scale=args.scale,
        batch_size=args.batch_size,
        classes=args.classes,
    )
    prepared = result["prepared"]
    print(
        f"inputs scaled by {prepared['scale'] or 'nothing'} ({prepared['from']})", file=sys.stderr
    )
    shown = ", ".join(f"{name} {shape}" for name, shape in result["shapes"].items())
    print(f"wrote {args.output}: {shown}")
    return EXIT_OK


# -- fmt ---------------------------------------------------------------------------------
def _configure_fmt(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help=".kspec files to rewrite in place (folders: every one inside; -: stdin to stdout)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing; show a diff, exit 1 if a file would change",
    )


def cmd_fmt(args: argparse.Namespace) -> int:
    import difflib

    from kspec.syntax.fmt import format_text, write_atomically

    errors: list[Diagnostic] = []
    sources: dict[str, Any] = {}
    changed = 0
    for path in _spec_files(args.files):
        text = sys.stdin.read() if path == "-" else _read(path)
        try:
            out = format_text(text, path)
        except KspecError as e:
            errors += e.diagnostics
            sources.update(e.sources)
            continue
        if out == text and not (path == "-" and not args.check):
            continue
        changed += out != text
        if args.check:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(True), out.splitlines(True), path, f"{path} (formatted)"
                )
            )
        elif path == "-":
            sys.stdout.write(out)
        else:
            try:
                write_atomically(path, out)
            except KspecError as e:  # the other files are still formatted
                errors += e.diagnostics
                continue
            print(f"reformatted {path}", file=sys.stderr)
    if errors:
        print(render_all(errors, sources), file=sys.stderr)
    if args.check and changed:
        print(f"{changed} file{'s' if changed != 1 else ''} would be reformatted", file=sys.stderr)
    return EXIT_SPEC if errors or (args.check and changed) else EXIT_OK


# -- codegen -----------------------------------------------------------------------------
def _configure_codegen(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the .kspec file")
    p.add_argument("--output", "-o", metavar="PATH", help="write the script to PATH, not stdout")
    p.add_argument(
        "--model",
        metavar="NAME",
        help="the model to build and train (default: train.model, else the last)",
    )
    p.add_argument("--only", choices=("model",), help="model: build_model() and its imports only")
    p.add_argument(
        "--template",
        metavar="DIR",
        help="render with the templates in DIR (docs/codegen.md lists their variables)",
    )
    _common(p, formats=False)


def cmd_codegen(args: argparse.Namespace) -> int:
    from kspec.codegen.generate import TemplateError, codegen, write_script

    text = _read(args.file)
    try:
        script = codegen(
            text,
            args.file,
            args.overrides,
            model=args.model,
            only=args.only,
            template_dir=args.template,
        )
    except TemplateError as e:
        raise UsageError(str(e)) from None
    if args.output is None:
        sys.stdout.write(script)
    else:
        write_script(args.output, script)
        print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


# -- ir, graph, import --------------------------------------------------------------------
def _configure_ir(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the .kspec file")
    p.add_argument("--output", "-o", metavar="PATH", help="write the JSON to PATH, not stdout")
    _common(p, formats=False)


def cmd_ir(args: argparse.Namespace) -> int:
    from kspec.interop.irjson import to_json

    checked = _checked(args.file, args.overrides)
    _write_or_print(args.output, json.dumps(to_json(checked), indent=2) + "\n")
    return EXIT_OK


def _checked(path: str, overrides: list[str]) -> Any:
    """The checked spec (warnings shown on stderr); KspecError when it has errors."""
    from kspec.check.spec import check_text

    checked, diags = check_text(_read(path), path, overrides, raise_errors=False)
    if diags.errors or checked is None:
        raise KspecError(diags.items, diags.sources)
    _print_warnings(diags.warnings, diags.sources, "text")
    return checked


def _configure_graph(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="the .kspec file")
    p.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT",
        help="model.svg or model.png (needs Graphviz), or model.dot",
    )
    p.add_argument(
        "--model", metavar="NAME", help="which model (default: train.model, else the last)"
    )
    _common(p, formats=False)


def cmd_graph(args: argparse.Namespace) -> int:
    from kspec.report.graphviz import output_format, render, to_dot

    fmt = output_format(args.output)
    checked = _checked(args.file, args.overrides)
    render(to_dot(_model(checked, args.model)), fmt, args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _configure_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help="a .keras file, or a model config .json file")
    p.add_argument("--output", "-o", metavar="OUT", help="write the spec to OUT, not stdout")


def cmd_import(args: argparse.Namespace) -> int:
    from kspec.interop.importer import import_file

    text = import_file(args.model)
    for line in text.splitlines():
        if line.startswith("# note: "):
            print(line.removeprefix("# "), file=sys.stderr)
    _write_or_print(args.output, text)
    return EXIT_OK


def _write_or_print(path: str | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    from kspec.output import write_text

    write_text(path, text)
    print(f"wrote {path}", file=sys.stderr)


# -- lsp -------------------------------------------------------------------------------
def _configure_lsp(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from kspec.lsp.server import main as serve
    except ImportError as e:
        raise UsageError(
            f"the language server needs the editor extra ({e.name} is missing): "
            "pip install 'kspec[editor]'"
        ) from None
    serve()
    return 0


# -- plumbing ----------------------------------------------------------------------------
def _spec_files(paths: Sequence[str]) -> list[str]:
    """The paths, each folder replaced by the .kspec files inside it, at any depth, sorted."""
    from pathlib import Path

    out: list[str] = []
    for path in paths:
        if path != "-" and Path(path).is_dir():
            found = sorted(str(p) for p in Path(path).rglob("*.kspec") if p.is_file())
            if not found:
                raise UsageError(f"{path}: a folder with no .kspec files")
            out += found
        else:
            out.append(path)
    return out


def _read(path: str) -> str:
    from kspec.files import NotRegular, read_text

    try:
        return read_text(path)
    except NotRegular as e:
        raise UsageError(f"{path}: cannot read: it {e}") from None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read: {getattr(e, 'strerror', None) or e}") from None


def _print_warnings(warnings: Sequence[Diagnostic], sources: dict[str, Any], fmt: str) -> None:
    if warnings and fmt == "text":
        print(render_all(warnings, sources), file=sys.stderr)


Configure = Callable[[argparse.ArgumentParser], None]
Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, str, Configure, Command]] = {
    "check": (
        "check specs: syntax, names, arguments, static shapes, data and train sections",
        "example:\n  kspec check examples/*.kspec --strict",
        _configure_check,
        cmd_check,
    ),
    "summary": (
        "print the model table Keras's model.summary() prints, without importing TensorFlow",
        "examples:\n  kspec summary examples/mnist.kspec --format json\n"
        "  kspec summary examples/transfer.kspec --phase finetune --trainable",
        _configure_summary,
        cmd_summary,
    ),
    "run": (
        "train a spec's model; writes a run folder (model.keras, history, metrics, curves.png)",
        "examples:\n  kspec run examples/digits.kspec\n"
        "  kspec run examples/mnist.kspec --epochs 1 --set data.source='idx(\"data/mnist\")'\n"
        "  kspec run --resume runs/digits-20250101-120000\n"
        "  kspec run --resume runs/digits-20250101-120000 --epochs 20",
        _configure_run,
        cmd_run,
    ),
    "evaluate": (
        "evaluate a saved run or .keras model on data",
        "examples:\n  kspec evaluate runs/digits-20250101-120000\n"
        "  kspec evaluate model.keras --data 'idx(\"data/mnist\")'",
        _configure_evaluate,
        cmd_evaluate,
    ),
    "predict": (
        "run a saved run or .keras model on a .npy file",
        "examples:\n  kspec predict runs/digits-20250101-120000 x.npy -o predictions.npy\n"
        "  kspec predict runs/digits-20250101-120000 x.npy -o classes.csv --classes",
        _configure_predict,
        cmd_predict,
    ),
    "codegen": (
        "write a standalone Keras script that builds and trains as kspec run does",
        "examples:\n  kspec codegen examples/mnist.kspec -o train.py\n"
        "  kspec codegen examples/resnet_tiny.kspec --only model",
        _configure_codegen,
        cmd_codegen,
    ),
    "fmt": (
        "rewrite specs in the canonical layout, keeping comments; never changes meaning",
        "examples:\n  kspec fmt examples/*.kspec\n  kspec fmt --check specs/",
        _configure_fmt,
        cmd_fmt,
    ),
    "ir": (
        "print the checked graph as JSON: layers, arguments, shapes, parameters, positions",
        "example:\n  kspec ir examples/mnist.kspec  (format: schema/kspec-ir.schema.json)",
        _configure_ir,
        cmd_ir,
    ),
    "graph": (
        "draw a model's graph with the shape on every edge (.svg/.png need Graphviz)",
        "examples:\n  kspec graph examples/resnet_tiny.kspec -o model.svg\n"
        "  kspec graph examples/unet.kspec -o unet.dot",
        _configure_graph,
        cmd_graph,
    ),
    "import": (
        "turn a saved Keras model (.keras or config .json) into a spec, running none of it",
        "example:\n  kspec import model.keras -o model.kspec",
        _configure_import,
        cmd_import,
    ),
    "lsp": (
        "run the language server for editors over stdio: diagnostics, shapes inline, hover, ...",
        "example:\n  kspec lsp   (started by the editor; see docs/editors.md)",
        _configure_lsp,
        cmd_lsp,
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    fmt = getattr(args, "format", "text")
    try:
        return COMMANDS[args.command][3](args)
    except KspecError as e:
        if fmt == "json":
            print(
                json.dumps(
                    {"ok": False, "diagnostics": [d.to_json() for d in e.diagnostics]}, indent=2
                )
            )
        else:
            print(e.render(), file=sys.stderr)
        return EXIT_SPEC
    except UsageError as e:
        print(f"kspec {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kspec summary ... | head`: the reader has what it wanted
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # a bug in kspec, not in the spec
        import os
        import traceback

        print(
            f"kspec: internal error: {type(e).__name__}: {e}\n"
            "this is a bug in kspec; please report it with the spec that caused it",
            file=sys.stderr,
        )
        if args.debug or os.environ.get("KSPEC_DEBUG"):
            traceback.print_exc()
        else:
            print("run it again with --debug to see where it failed", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
