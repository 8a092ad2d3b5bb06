// Tokenizes spec files with the extension's TextMate grammar, as VS Code does
// (vscode-textmate with the Oniguruma regex engine), and prints, per file, the number of
// tokens, the text no rule matched (scoped only source.kspec) and the tokens scoped invalid,
// plus the scope of each
// distinct token text, as JSON. Usage: node test/tokenize.js FILE...
"use strict";
const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = path.join(__dirname, "..");
const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;

async function main(files) {
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => {
      if (scope !== "source.kspec") return null;
      const file = path.join(here, "syntaxes", "kspec.tmLanguage.json");
      return vsctm.parseRawGrammar(fs.readFileSync(file, "utf8"), file);
    },
  });
  const grammar = await registry.loadGrammar("source.kspec");
  const out = {};
  for (const file of files) {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    let stack = vsctm.INITIAL;
    const report = { tokens: 0, invalid: [], unmatched: [], scopes: {} };
    lines.forEach((line, i) => {
      const result = grammar.tokenizeLine(line, stack);
      stack = result.ruleStack;
      for (const t of result.tokens) {
        const text = line.slice(t.startIndex, t.endIndex);
        const scope = t.scopes[t.scopes.length - 1];
        report.tokens += 1;
        if (t.scopes.length === 1 && text.trim()) report.unmatched.push(`${i + 1}: ${text}`);
        if (t.scopes.some((s) => s.startsWith("invalid"))) report.invalid.push(`${i + 1}: ${text}`);
        if (text.trim() && !(text in report.scopes)) report.scopes[text] = scope;
      }
    });
    out[file] = report;
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
