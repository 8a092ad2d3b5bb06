"""`python -m kspec.lsp`: the language server over stdio, as `kspec lsp` starts it."""

from kspec.lsp.server import main

main()
