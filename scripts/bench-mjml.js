// Reference MJML renderer for the benchmark: mjml 4.x, warm, in-process.
// Usage: node scripts/bench-mjml.js FILE.mjml  → prints the median µs per render.
const path = require("path");
const fs = require("fs");
const mjml = require(path.join(__dirname, "..", "target", "bench", "node", "node_modules", "mjml"));
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
