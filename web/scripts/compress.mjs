// Writes <file>.br and <file>.gz beside every built asset (not index.html: the server rewrites
// it at load), at the strongest settings: the server sends them as they are, so compression
// costs nothing per request.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = process.argv[2] ?? "dist";
const compressible = /\.(js|mjs|css|json|svg|txt|map|webmanifest)$/;
let raw = 0, br = 0, gz = 0, files = 0;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (compressible.test(name)) compress(path);
  }
}

function compress(path) {
  const data = readFileSync(path);
  const brotli = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gzip = gzipSync(data, { level: 9 });
  writeFileSync(path + ".br", brotli);
  writeFileSync(path + ".gz", gzip);
  raw += data.length; br += brotli.length; gz += gzip.length; files += 1;
  console.log(`  ${relative(root, path).padEnd(44)} ${kb(data.length)} raw ${kb(gzip.length)} gz ${kb(brotli.length)} br`);
}

const kb = (n) => `${(n / 1024).toFixed(1).padStart(8)} KB`;
walk(root);
console.log(`compress: ${files} files, ${kb(raw)} raw → ${kb(gz)} gzip, ${kb(br)} brotli`);
