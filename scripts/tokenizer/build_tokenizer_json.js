#!/usr/bin/env node
// Builds a Hugging Face tokenizer.json for an uncased BERT WordPiece vocabulary with the
// reference implementation (npm tokenizers@0.23.2, the Rust library's Node bindings).
//
// The pipeline is the one of bert-base-uncased:
//   normalizer      BertNormalizer (clean_text, handle_chinese_chars, strip_accents, lowercase)
//   pre_tokenizer   BertPreTokenizer
//   model           WordPiece (unk [UNK], prefix ##, max 100 chars per word)
//   post_processor  TemplateProcessing "[CLS] $A [SEP]" (pair "[CLS] $A [SEP] $B:1 [SEP]:1")
//   decoder         WordPiece
//   added_tokens    [PAD] [UNK] [CLS] [SEP] [MASK] as special tokens (those present in the vocab)
//   truncation and padding off.
//
// Usage: node build_tokenizer_json.js [vocab.txt] [out tokenizer.json]
// Defaults: ../../tokenize/testdata/vocab.txt -> ../../tokenize/testdata/tokenizer.json
'use strict';

const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

const root = path.resolve(__dirname, '..', '..');
const vocabPath = process.argv[2] || path.join(root, 'tokenize', 'testdata', 'vocab.txt');
const outPath = process.argv[3] || path.join(root, 'tokenize', 'testdata', 'tokenizer.json');

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

async function build(vocabFile) {
  const model = await tk.WordPiece.fromFile(vocabFile, {
    unkToken: '[UNK]',
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100,
  });
  const tokenizer = new tk.Tokenizer(model);
  tokenizer.setNormalizer(
    tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }),
  );
  tokenizer.setPreTokenizer(tk.bertPreTokenizer());
  tokenizer.setDecoder(tk.wordPieceDecoder('##', true));

  const present = SPECIALS.filter((s) => tokenizer.tokenToId(s) !== null);
  tokenizer.addSpecialTokens(present);
  const cls = tokenizer.tokenToId('[CLS]');
  const sep = tokenizer.tokenToId('[SEP]');
  if (cls === null || sep === null) {
    throw new Error(`${vocabFile}: vocabulary has no [CLS] or [SEP]`);
  }
  tokenizer.setPostProcessor(
    tk.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [
      ['[CLS]', cls],
      ['[SEP]', sep],
    ]),
  );
  tokenizer.disableTruncation();
  tokenizer.disablePadding();
  return tokenizer;
}

async function main() {
  const tokenizer = await build(vocabPath);
  tokenizer.save(outPath, true);
  const check = tk.Tokenizer.fromFile(outPath);
  const enc = await check.encode('Hello, Wörld!');
  console.log(`wrote ${outPath} (vocab ${check.getVocabSize(true)}; "Hello, Wörld!" -> ${enc.getIds().join(' ')})`);
}

module.exports = { build };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
