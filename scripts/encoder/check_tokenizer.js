// Checks a tokenizer.json against ids computed by the pure-Python tokenizer, with the real
// Hugging Face `tokenizers` library (npm tokenizers@0.23.2).
//
//   NODE_PATH=/tmp/hftok/node_modules node scripts/encoder/check_tokenizer.js \
//       models/query-encoder/tokenizer.json build/encoder/tokcheck.jsonl
//
// The JSONL holds one {"text": ..., "ids": [...]} a line (ids with [CLS]/[SEP], no truncation).
// Exits 1 on the first mismatches (prints up to 10) or when fewer than 500 texts are given.
"use strict";
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

async function main() {
  const [tokPath, casesPath] = process.argv.slice(2);
  if (!tokPath || !casesPath) {
    console.error("usage: check_tokenizer.js tokenizer.json cases.jsonl");
    process.exit(2);
  }
  const tok = Tokenizer.fromFile(tokPath);
  const lines = fs.readFileSync(casesPath, "utf8").split("\n").filter((l) => l.length > 0);
  let bad = 0;
  for (const line of lines) {
    const c = JSON.parse(line);
    const enc = await tok.encode(c.text);
    const got = enc.getIds();
    const same = got.length === c.ids.length && got.every((v, i) => v === c.ids[i]);
    if (!same) {
      bad++;
      if (bad <= 10) {
        console.error("MISMATCH %j\n  hf:     %j %j\n  python: %j", c.text, got, enc.getTokens(), c.ids);
      }
    }
  }
  console.log("check_tokenizer: %d texts, %d mismatches (%s)", lines.length, bad, tokPath);
  if (bad > 0 || lines.length < 500) process.exit(1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
