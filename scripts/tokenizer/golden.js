#!/usr/bin/env node
// Writes the golden files for the Go tokenize package with the reference implementation
// (npm tokenizers@0.23.2) and tokenize/testdata/tokenizer.json:
//
//   tokenize/testdata/golden.jsonl          grocery names, queries and hard cases (committed)
//   tokenize/testdata/unicode_golden.jsonl  a sweep over code points (committed)
//   tokenize/testdata/instacart_golden.jsonl Instacart product names, only when
//       ../shared/data/instacart/products.csv exists (git-ignored: non-commercial terms)
//
// Each line of golden.jsonl is one JSON object:
//   text            the input
//   ids, type_ids, attention_mask   Encoding without truncation or padding
//   words           the normalized, pre-tokenized words joined by one space
//   trunc           {"<max_length>": ids} with truncation to max_length (right, longest
//                   first), for each of 8, 16, 128 and 512 below the untruncated length
// unicode_golden.jsonl lines have text and words; instacart_golden.jsonl lines text and ids.
//
// Usage: node golden.js [shared data dir]   (default ../../../shared/data)
'use strict';

const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');
const { corpus, sweep } = require('./texts');

const root = path.resolve(__dirname, '..', '..');
const testdata = path.join(root, 'tokenize', 'testdata');
const dataDir = path.resolve(process.argv[2] || path.join(root, '..', 'shared', 'data'));
const TRUNC = [8, 16, 128, 512];

function load(maxLength) {
  const t = tk.Tokenizer.fromFile(path.join(testdata, 'tokenizer.json'));
  if (maxLength) t.setTruncation(maxLength);
  return t;
}

function words(tokenizer, text) {
  const normalized = tokenizer.getNormalizer().normalizeString(text);
  return tokenizer
    .getPreTokenizer()
    .preTokenizeString(normalized)
    .map(([w]) => w)
    .join(' ');
}

// parseCSV parses RFC 4180 CSV (quoted fields may hold commas, quotes and newlines).
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function writeJSONL(file, objs) {
  fs.writeFileSync(file, objs.map((o) => JSON.stringify(o)).join('\n') + '\n');
  console.log(`wrote ${file} (${objs.length} lines, ${fs.statSync(file).size} bytes)`);
}

async function main() {
  const ref = load(0);
  const truncated = Object.fromEntries(TRUNC.map((n) => [n, load(n)]));

  const texts = [...new Set(corpus(path.join(dataDir, 'groceries')))];
  const golden = [];
  for (const text of texts) {
    const enc = await ref.encode(text);
    const ids = enc.getIds();
    const obj = {
      text,
      ids,
      type_ids: enc.getTypeIds(),
      attention_mask: enc.getAttentionMask(),
      words: words(ref, text),
    };
    const trunc = {};
    for (const n of TRUNC) {
      if (ids.length > n) trunc[n] = (await truncated[n].encode(text)).getIds();
    }
    if (Object.keys(trunc).length) obj.trunc = trunc;
    golden.push(obj);
  }
  writeJSONL(path.join(testdata, 'golden.jsonl'), golden);

  writeJSONL(
    path.join(testdata, 'unicode_golden.jsonl'),
    sweep(64).map((text) => ({ text, words: words(ref, text) })),
  );

  const products = path.join(dataDir, 'instacart', 'products.csv');
  if (fs.existsSync(products)) {
    const rows = parseCSV(fs.readFileSync(products, 'utf8'));
    const header = rows.shift();
    const col = header.indexOf('product_name');
    const names = rows.filter((r) => r.length === header.length).map((r) => r[col]);
    const out = [];
    for (let i = 0; i < names.length; i += 256) {
      const batch = names.slice(i, i + 256);
      const encs = await ref.encodeBatch(batch);
      encs.forEach((e, j) => out.push({ text: batch[j], ids: e.getIds() }));
    }
    writeJSONL(path.join(testdata, 'instacart_golden.jsonl'), out);
  } else {
    console.log(`skipped instacart_golden.jsonl: ${products} not found`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
