"""The `kspec` command: the only place that prints or exits."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kspec import __version__
from kspec.diagnostics import Diagnostic, KspecError, render_all

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


def _common(p: argparse.ArgumentParser, *, formats: bool = True) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                   help="override a constant or a data./train. field (VALUE is spec syntax)")  # fmt: skip
    if formats:
        p.add_argument("--format", choices=("text", "json"), default="text",
                       help="text for people, json for tools (default: text)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kspec", description=MAIN_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--version", action="version", version=f"kspec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, epilog, configure, _) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        configure(p)
    return parser


# -- check -------------------------------------------------------------------------------
def _configure_check(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help=".kspec files to check")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    _common(p)


def cmd_check(args: argparse.Namespace) -> int:
    from kspec.check.spec import check_text

    everything: list[Diagnostic] = []
    sources: dict[str, Any] = {}
    failed = False
    for path in args.files:
        text = _read(path)
        _, diags = check_text(text, path, args.overrides, raise_errors=False)
        everything.extend(diags.items)
        sources.update(diags.sources)
        if diags.errors or (args.strict and diags.warnings):
            failed = True
    if args.format == "json":
        print(json.dumps({"ok": not failed, "diagnostics": [d.to_json() for d in everything]}, indent=2))
    else:
        if everything:
            print(render_all(everything, sources), file=sys.stderr)
        n_err = sum(d.severity == "error" for d in everything)
        n_warn = len(everything) - n_err
        files = f"{len(args.files)} file{'s' if len(args.files) != 1 else ''}"
        status = "failed" if failed else "ok"
        print(f"{status}: {files}, {n_err} error{'s' if n_err != 1 else ''}, "
              f"{n_warn} warning{'s' if n_warn != 1 else ''}", file=sys.stderr)  # fmt: skip
    return EXIT_SPEC if failed else EXIT_OK


# -- summary -----------------------------------------------------------------------------
def _configure_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE")
    p.add_argument("--model", help="which model of the file (default: train.model, else all)")
    _common(p)


def cmd_summary(args: argparse.Namespace) -> int:
    from kspec.check.spec import check_text
    from kspec.summary import render_summary, summary_json

    checked, diags = check_text(_read(args.file), args.file, args.overrides, raise_errors=False)
    if diags.errors or checked is None:
        raise KspecError(diags.items, diags.sources)
    _print_warnings(diags.warnings, diags.sources, args.format)
    if args.model is not None:
        if args.model not in checked.models:
            raise UsageError(f"no model named '{args.model}' in {args.file}; "
                             f"models: {', '.join(checked.models)}")  # fmt: skip
        graphs = [checked.models[args.model]]
    else:
        graphs = list(checked.models.values())
    if args.format == "json":
        out: Any = [summary_json(g) for g in graphs]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
    else:
        print("\n\n".join(render_summary(g) for g in graphs))
    return EXIT_OK


# -- plumbing ----------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
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
    "check": ("check specs: syntax, names, arguments, static shapes, data and train sections",
              "example:\n  kspec check examples/*.kspec --strict", _configure_check, cmd_check),
    "summary": ("print the model table Keras's model.summary() prints, without importing TensorFlow",
                "example:\n  kspec summary examples/mnist.kspec --format json", _configure_summary,
                cmd_summary),
}  # fmt: skip


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
            print(json.dumps({"ok": False, "diagnostics": [d.to_json() for d in e.diagnostics]}, indent=2))
        else:
            print(e.render(), file=sys.stderr)
        return EXIT_SPEC
    except UsageError as e:
        print(f"kspec {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in kspec, not in the spec
        import traceback

        print(f"kspec: internal error: {type(e).__name__}: {e}\n"
              "this is a bug in kspec; please report it with the spec that caused it", file=sys.stderr)  # fmt: skip
        if "--debug" in sys.argv or __import__("os").environ.get("KSPEC_DEBUG"):
            traceback.print_exc()
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
