#!/usr/bin/env node
// Writes tokenize/unicode_tables.go: the character classes of the Hugging Face BERT
// normalizer and pre-tokenizer, read off the reference implementation (npm
// tokenizers@0.23.2) one code point at a time.
//
// Why not Go's unicode package: the Rust library mixes Unicode versions. Its control,
// punctuation and non-spacing-mark tests come from the unicode_categories crate (Unicode
// 8-era tables: U+2E43, U+061D and U+13430..U+1343F differ from Go's), lowercase from
// Rust's std (a newer Unicode than Go 1.26's 15.0), NFD from unicode-normalization. Reading
// the classes off the reference pins exactly the behaviour the goldens check, whatever
// Unicode version Go ships.
//
// Usage: node gen_unicode_tables.js [out.go]   (default ../../tokenize/unicode_tables.go)
'use strict';

const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const out = process.argv[2] || path.resolve(__dirname, '..', '..', 'tokenize', 'unicode_tables.go');

const bert = (o) =>
  tk.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false, ...o });
const clean = bert({ cleanText: true });
const chinese = bert({ handleChineseChars: true });
const strip = bert({ stripAccents: true });
const lower = bert({ lowercase: true });
const nfd = tk.nfdNormalizer();
const pre = tk.bertPreTokenizer();

const sets = { drop: [], space: [], chinese: [], mark: [], punct: [], bertSpace: [] };
const lowers = []; // [cp, lowercase code points]
const decomposable = []; // [cp, nfd string]

for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const c = String.fromCodePoint(cp);
  const s = 'a' + c + 'a';

  const cl = clean.normalizeString(s);
  if (cl === 'aa') sets.drop.push(cp);
  else if (cl === 'a a') {
    if (c !== ' ') sets.space.push(cp);
  } else if (cl !== s) throw new Error(`clean_text U+${cp.toString(16)}: ${JSON.stringify(cl)}`);

  const ch = chinese.normalizeString(c);
  if (ch === ' ' + c + ' ') sets.chinese.push(cp);
  else if (ch !== c) throw new Error(`handle_chinese_chars U+${cp.toString(16)}: ${JSON.stringify(ch)}`);

  const d = nfd.normalizeString(c);
  if (d === c) {
    const st = strip.normalizeString(c);
    if (st === '') sets.mark.push(cp);
    else if (st !== c) throw new Error(`strip_accents U+${cp.toString(16)}: ${JSON.stringify(st)}`);
  } else decomposable.push([cp, d]);

  const lo = lower.normalizeString(c);
  if (lo !== c) lowers.push([cp, [...lo].map((x) => x.codePointAt(0))]);

  const p = pre.preTokenizeString(s);
  if (p.length === 3 && p[0][0] === 'a' && p[1][0] === c && p[2][0] === 'a') sets.punct.push(cp);
  else if (p.length === 2 && p[0][0] === 'a' && p[1][0] === 'a') sets.bertSpace.push(cp);
  else if (!(p.length === 1 && p[0][0] === s)) throw new Error(`pre-tokenizer U+${cp.toString(16)}: ${JSON.stringify(p)}`);
}

// Check that strip_accents is NFD followed by removing the marks found above.
const markSet = new Set(sets.mark);
for (const [cp, d] of decomposable) {
  const want = [...d].filter((x) => !markSet.has(x.codePointAt(0))).join('');
  const got = strip.normalizeString(String.fromCodePoint(cp));
  if (want !== got) throw new Error(`strip_accents U+${cp.toString(16)} is not NFD minus marks`);
}

function ranges(cps) {
  const rs = [];
  for (const cp of cps) {
    const last = rs[rs.length - 1];
    if (last && last[1] === cp - 1) last[1] = cp;
    else rs.push([cp, cp]);
  }
  return rs;
}

const hex = (n, w) => '0x' + n.toString(16).padStart(w, '0');

function rangeTable(name, doc, cps) {
  const rs = ranges(cps);
  const r16 = rs.filter(([, hi]) => hi <= 0xffff);
  const r32 = rs.filter(([lo]) => lo > 0xffff);
  const split = rs.find(([lo, hi]) => lo <= 0xffff && hi > 0xffff);
  if (split) {
    r16.push([split[0], 0xffff]);
    r32.unshift([0x10000, split[1]]);
    r16.sort((a, b) => a[0] - b[0]);
  }
  const latin = r16.filter(([, hi]) => hi <= 0xff).length;
  let s = `// ${name} ${doc} (${cps.length} code points).\nvar ${name} = &unicode.RangeTable{\n`;
  if (r16.length) {
    s += '\tR16: []unicode.Range16{\n';
    for (const [lo, hi] of r16) s += `\t\t{Lo: ${hex(lo, 4)}, Hi: ${hex(hi, 4)}, Stride: 1},\n`;
    s += '\t},\n';
  }
  if (r32.length) {
    s += '\tR32: []unicode.Range32{\n';
    for (const [lo, hi] of r32) s += `\t\t{Lo: ${hex(lo, 5)}, Hi: ${hex(hi, 5)}, Stride: 1},\n`;
    s += '\t},\n';
  }
  if (latin) s += `\tLatinOffset: ${latin},\n`;
  return s + '}\n';
}

// Single code point lowercase mappings as runs {lo, hi, stride, delta}: every code point
// lo, lo+stride, ..., hi maps to itself + delta.
function lowerRuns(pairs) {
  const runs = [];
  for (const [cp, to] of pairs) {
    const delta = to - cp;
    const last = runs[runs.length - 1];
    if (last && last.delta === delta) {
      if (last.hi === last.lo && (cp - last.hi === 1 || cp - last.hi === 2)) {
        last.stride = cp - last.hi;
        last.hi = cp;
        continue;
      }
      if (last.hi !== last.lo && cp - last.hi === last.stride) {
        last.hi = cp;
        continue;
      }
    }
    runs.push({ lo: cp, hi: cp, stride: 1, delta });
  }
  return runs;
}

const single = lowers.filter(([, l]) => l.length === 1).map(([cp, l]) => [cp, l[0]]);
const multi = lowers.filter(([, l]) => l.length !== 1);
if (multi.length !== 1 || multi[0][0] !== 0x130) {
  throw new Error(`unexpected multi-rune lowercase mappings: ${JSON.stringify(multi)}`);
}
const runs = lowerRuns(single);

let go = `// Code generated by scripts/tokenizer/gen_unicode_tables.js from npm tokenizers@0.23.2; DO NOT EDIT.

package tokenize

import "unicode"

`;
go += rangeTable('cleanDropTable', 'holds what BertNormalizer clean_text removes: Cc and Cf except tab, LF and CR, Co, U+0000 and U+FFFD', sets.drop);
go += '\n' + rangeTable('cleanSpaceTable', 'holds what clean_text turns into a space, besides the space itself', sets.space);
go += '\n' + rangeTable('chineseTable', 'holds the CJK ideographs that handle_chinese_chars surrounds with spaces', sets.chinese);
go += '\n' + rangeTable('markTable', 'holds the non-spacing marks that strip_accents removes after NFD', sets.mark);
go += '\n' + rangeTable('punctTable', 'holds what BertPreTokenizer isolates as punctuation', sets.punct);
go += '\n' + rangeTable('spaceTable', 'holds what BertPreTokenizer splits on as whitespace', sets.bertSpace);
go += `
// lowerRuns holds the single code point lowercase mappings of the reference (${single.length}
// code points): each r in lo, lo+stride, ..., hi lowercases to r+delta. U+0130, whose
// lowercase is two code points, is handled in code.
var lowerRuns = []lowerRun{
`;
for (const r of runs) go += `\t{lo: ${hex(r.lo, 4)}, hi: ${hex(r.hi, 4)}, stride: ${r.stride}, delta: ${r.delta}},\n`;
go += '}\n';

fs.writeFileSync(out, go);
console.log(
  `wrote ${out}: ` +
    Object.entries(sets)
      .map(([k, v]) => `${k} ${v.length}`)
      .join(', ') +
    `, lowercase ${single.length} in ${runs.length} runs`,
);
