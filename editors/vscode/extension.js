// The VS Code client: starts `kspec lsp` (from the configured Python environment) over stdio.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

async function pythonFromExtension() {
  // The interpreter chosen in the Python extension, when it is installed.
  const python = vscode.extensions.getExtension("ms-python.python");
  if (!python) return undefined;
  if (!python.isActive) await python.activate();
  const details = python.exports?.settings?.getExecutionDetails?.();
  return details?.execCommand?.[0];
}

async function serverCommand() {
  const config = vscode.workspace.getConfiguration("kspec");
  const extra = config.get("serverArgs", []);
  const python = config.get("python", "") || (await pythonFromExtension());
  if (python) return { command: python, args: ["-m", "kspec.lsp", ...extra] };
  return { command: "kspec", args: ["lsp", ...extra] };
}

async function activate(context) {
  const server = await serverCommand();
  client = new LanguageClient(
    "kspec",
    "kspec language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "kspec" }] },
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("kspec") && client) {
        await client.stop();
        await activate(context);
      }
    }),
  );
  await client.start();
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate };
