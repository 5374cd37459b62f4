// The reference MJML renderer for herald's fidelity test (tests/it/mjml_fidelity.rs): mjml 4.x from npm,
// as its CLI renders by default (validation level "soft": render anyway, report what is invalid).
//
// Usage: node tests/servers/mjml4-render.js PREFIX IN.mjml OUT.html [IN.mjml OUT.html ...]
//   PREFIX is the directory `npm install --prefix PREFIX mjml@4.x` installed into (scripts/test does).
// Writes each OUT.html and prints one JSON array on stdout, one entry per input:
//   {"input", "version", "warnings": [{"line", "tagName", "message"}], "error": null | "why it failed"}
// Exits 0 even when a document fails (that is a result); 2 on bad usage or a missing mjml.
"use strict";
const fs = require("fs");
const path = require("path");

const [prefix, ...files] = process.argv.slice(2);
if (!prefix || files.length === 0 || files.length % 2 !== 0) {
  console.error("usage: mjml4-render.js PREFIX IN.mjml OUT.html [IN.mjml OUT.html ...]");
  process.exit(2);
}
const moduleDir = path.join(path.resolve(prefix), "node_modules", "mjml");
let mjml2html, version;
try {
  mjml2html = require(moduleDir);
  version = require(path.join(moduleDir, "package.json")).version;
} catch (e) {
  console.error(`mjml is not installed in ${prefix}: ${e.message}`);
  process.exit(2);
}

const results = [];
for (let i = 0; i < files.length; i += 2) {
  const [input, output] = [files[i], files[i + 1]];
  const entry = { input, version, warnings: [], error: null };
  try {
    const source = fs.readFileSync(input, "utf8");
    const { html, errors } = mjml2html(source, {
      validationLevel: "soft",
      filePath: input,
    });
    entry.warnings = (errors || []).map((e) => ({
      line: e.line,
      tagName: e.tagName,
      message: e.message,
    }));
    fs.writeFileSync(output, html);
  } catch (e) {
    entry.error = String((e && e.message) || e);
  }
  results.push(entry);
}
process.stdout.write(JSON.stringify(results) + "\n");
