// Reference MJML renderer for the benchmark: mjml 4.x, warm, in-process.
// Usage: node scripts/bench-mjml.js FILE.mjml  → prints the median µs per render.
const path = require("path");
const fs = require("fs");
// scripts/bench installs mjml into target/bench/node, scripts/test into target/mjml4: either will do.
const roots = [["target", "bench", "node"], ["target", "mjml4"]].map((p) => path.join(__dirname, "..", ...p, "node_modules", "mjml"));
const mjml = require(roots.find((r) => fs.existsSync(r)) || roots[0]);
const source = fs.readFileSync(process.argv[2], "utf8");
for (let i = 0; i < 20; i++) mjml(source, { validationLevel: "skip" }); // warm up
const times = [];
for (let i = 0; i < 50; i++) {
  const t = process.hrtime.bigint();
  mjml(source, { validationLevel: "skip" });
  times.push(Number(process.hrtime.bigint() - t) / 1000);
}
times.sort((a, b) => a - b);
console.log(times[Math.floor(times.length / 2)].toFixed(1));
