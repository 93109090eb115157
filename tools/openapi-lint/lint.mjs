// node lint.mjs <openapi.json>: lints the document with Redocly's rules (redocly.yaml beside
// this file) and exits 1 if any problem is found; warnings count, so the document stays clean.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { lint, loadConfig, formatProblems } from '@redocly/openapi-core';

const file = process.argv[2];
if (!file) {
  console.error('usage: node lint.mjs <openapi.json>');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const config = await loadConfig({ configPath: path.join(here, 'redocly.yaml') });
const problems = await lint({ ref: path.resolve(file), config });
if (problems.length) {
  formatProblems(problems, { format: 'codeframe', totals: { errors: 0, warnings: 0, ignored: 0 } });
  console.error(`openapi lint: ${problems.length} problem(s) in ${file}`);
  process.exit(1);
}
console.log(`openapi lint: ${file} passes (${path.join(here, 'redocly.yaml')})`);
