#!/usr/bin/env node
// Measures the reference (npm tokenizers@0.23.2) on the golden texts, as the Go
// benchmarks BenchmarkEncode and BenchmarkEncodeParallel do: tokenizer.json with
// truncation to 512, the texts of tokenize/testdata/golden.jsonl in file order.
//
//   one at a time   await tokenizer.encode(text), one call after the other
//   encodeBatch     await tokenizer.encodeBatch(texts) in batches of --batch texts (Rust
//                   side uses all cores; RAYON_NUM_THREADS limits it)
//
// then both again on the texts of at most 100 UTF-8 bytes (queries and product names), as
// BenchmarkEncodeQueries.
//
// Usage: node bench.js [--seconds 5] [--batch 64]
'use strict';

const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const root = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const seconds = arg('--seconds', 5);
const batch = arg('--batch', 64);

const allTexts = fs
  .readFileSync(path.join(root, 'tokenize', 'testdata', 'golden.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l).text);
const queries = allTexts.filter((t) => Buffer.byteLength(t, 'utf8') <= 100);
let texts = allTexts;

const tokenizer = tk.Tokenizer.fromFile(path.join(root, 'tokenize', 'testdata', 'tokenizer.json'));
tokenizer.setTruncation(512);

async function oneAtATime(deadline) {
  let n = 0;
  while (Date.now() < deadline) {
    for (const t of texts) {
      await tokenizer.encode(t);
      n++;
    }
  }
  return n;
}

async function batched(deadline) {
  let n = 0;
  while (Date.now() < deadline) {
    for (let i = 0; i < texts.length; i += batch) {
      const chunk = texts.slice(i, i + batch);
      await tokenizer.encodeBatch(chunk);
      n += chunk.length;
    }
  }
  return n;
}

async function measure(name, fn) {
  await fn(Date.now() + 500); // warm-up
  const start = process.hrtime.bigint();
  const n = await fn(Date.now() + seconds * 1000);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(28)} ${String(n).padStart(9)} texts in ${s.toFixed(2)} s = ${Math.round(n / s)} texts/s`);
}

async function main() {
  console.log(
    `tokenizers@0.23.2, ${allTexts.length} golden texts (${queries.length} of at most 100 bytes), node ${process.version}`,
  );
  await measure('encode one at a time', oneAtATime);
  await measure(`encodeBatch (batch ${batch})`, batched);
  texts = queries;
  await measure('queries: encode one at a time', oneAtATime);
  await measure(`queries: encodeBatch (batch ${batch})`, batched);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
