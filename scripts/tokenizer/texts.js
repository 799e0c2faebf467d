// Test texts for the tokenizer goldens: real grocery product and category names, query-like
// combinations of them, and hand-written hard cases. Deterministic (seeded PRNG), so
// golden.js and bench.js always see the same texts in the same order.
'use strict';

const fs = require('fs');
const path = require('path');

// mulberry32: a small seeded PRNG, so the corpus does not depend on Math.random.
function rng(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readLines(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l !== '');
}

// labels reads an arules *.labels file: id<TAB>english<TAB>GERMAN.
function labels(file) {
  return readLines(file).map((l) => {
    const [, en, de] = l.split('\t');
    return { en, de };
  });
}

// respell turns the ASCII-transliterated German of the arules labels back into German
// spelling (UE -> Ü, AE -> Ä, OE -> Ö except after a vowel or Q, and SS -> ß in a few
// known stems), so the corpus has real umlauts and ß. Mechanical, so not always right.
function respell(s) {
  let out = s.replace(/(^|[^AEIOUQ])(UE|AE|OE)/g, (m, pre, v) => pre + { UE: 'Ü', AE: 'Ä', OE: 'Ö' }[v]);
  out = out.replace(/(WEI|SÜ|FU)SS/g, '$1ß');
  return out;
}

function titleCase(s) {
  return s.toLowerCase().replace(/(^|[\s/(-])(\p{L})/gu, (m, pre, c) => pre + c.toUpperCase());
}

// hardCases are texts chosen for the corners of the BERT normalizer, pre-tokenizer and
// WordPiece model.
function hardCases() {
  const cases = [
    // empty, whitespace only, control characters
    '', ' ', '   ', '\t', '\n', '\r\n', ' \t\n\r\u000b\u000c ', '\u00a0', '\u3000', '\u2003milk\u2003',
    '\u0000', 'milk\u0000bread', '\u0007bell', 'a\u0008b', 'milk\u007fbread', '\u0085next line', 'x\u001cy\u001dz\u001e\u001f',
    'milk\ufffdbread', '\ufeffbom milk', 'zero\u200bwidth\u200cjoiner\u200dtest', 'soft\u00adhyphen', 'left\u200eto\u200fright',
    'word\u2060joiner', 'milk\u2028line\u2029para', 'bidi \u202aembed\u202c \u2066isolate\u2069', 'tag \udb40\udc41\udb40\udc42',
    'private \ue000\uf8ff use', 'plane15 \udb80\udc00', 'noncharacter \ufdd0 \uffff',
    'tab\tseparated\tvalues', 'multi\n\nline\n\ntext', 'crlf\r\nline', 'trailing space   ', '   leading space',
    // accents and combining marks
    'café', 'cafe\u0301', 'CAFÉ', 'Crème Brûlée', 'jalapeño', 'Jalapen\u0303o', 'naïve', 'Zoë', 'Ångström', 'Øresund', 'Łódź',
    'ąčęėįšųūž', 'São Paulo açaí', 'piña colada', 'Müller Milch', 'Weißbrot', 'STRASSE straße', 'ẞ capital sharp s',
    'e\u0301\u0301\u0301', '\u0301leading combining', 'a\u0308\u0323', 'Ä\u0332', 'x\u20ddy', 'q\u0489r', 'Ǆ ǅ ǆ', 'ﬁ ﬂ ﬀ ligatures',
    'İstanbul', 'ıi Iİ', 'ΣΊΣΥΦΟΣ', 'Ὀδυσσεύς', 'ǰ', 'ŉ', 'Kelvin \u212a sign', 'Ohm \u2126', 'Å angstrom sign \u212b',
    'ＦＵＬＬＷＩＤＴＨ ｍｉｌｋ', '①②③', '½ cup', 'x² + y³', 'H₂O', 'ª º', 'µg', 'Ⅻ roman',
    // CJK, Japanese, Korean
    '牛奶', '我想买牛奶和面包', '北京烤鸭 peking duck', '中文English混合', '豆腐 tofu 200g', '日本の緑茶', 'おにぎり', 'カップラーメン',
    'ｶﾀｶﾅ', '김치', '한국 라면', '𠀀𠀁 ext b', '𪜀 ext c', '𫝀 ext d', '𫠠 ext e', '𬺰 ext f', '𰀀 ext g', '丽 compat 丽',
    '豈 compat', '\u3400\u4dbf ext a', '〇 ideographic zero', '、。〈〉「」', '（全角）',
    // emoji
    '🍎 apple', '🥑avocado🥑', '🧀🍞🥛', '👍🏽', '👨‍👩‍👧‍👦 family pack', '🇩🇪 🇺🇸 flags', '❤️ love', '☕︎ coffee',
    '1️⃣ one', '🫠 melting', '🥲', '🩷 pink heart', '🫛 pea pod',
    // punctuation runs and symbols
    '!!!', '???!!!...', '...', '---', '***', '"quoted"', "it's", "don't", 'rock\'n\'roll', '«guillemets»', '„Anführung“',
    '‘single’ “double”', '—em–en‐hyphen', '…ellipsis', '¿Qué?', '¡Hola!', '§ 12 ¶', '@#$%^&*()_+', '{[<>]}', '`~|\\',
    'a/b/c', 'a.b.c', 'a,b,c', 'a-b-c', 'a_b_c', 'a:b;c', 'e-mail@example.com', 'https://shop.example/milk?id=42&x=y',
    '#hashtag', '$3.49', '€1,99', '£2', '¥100', '₹50', '100%', '50/50', '2+2=4', '5 < 6 > 4', '~tilde', '^caret',
    '•bullet', '·middle', '†dagger', '※', '℃ 20°C', '™ ® ©', '±', '÷×', '←→↑↓', '∑∞', '♥♦♣♠', '★☆', '♪♫',
    // digits and mixed case
    '12345', '3.14159', '1,000,000', '2024-01-31', '10:30am', '0x1F', '007', '1st 2nd 3rd 4th', '6-pack', '1.5L', '500g', '12oz',
    'iPhone', 'McDonalds', 'PayPal', 'eBay', 'CamelCaseWord', 'UPPER lower MiXeD', 'ALLCAPSTEXT', 'ABC123def456',
    '٠١٢٣ arabic digits', '०१२ devanagari digits', '১২৩',
    // scripts
    'مرحبا بالعالم', 'حليب', 'שלום', 'Привет мир', 'молоко и хлеб', 'ЁЛКА ёлка', 'Ελληνικά γάλα', 'ψωμί',
    'नमस्ते दूध', 'ভাত', 'ਪੰਜਾਬੀ', 'தமிழ்', 'తెలుగు', 'ಕನ್ನಡ', 'മലയാളം', 'සිංහල', 'ภาษาไทย นม', 'ລາວ', 'မြန်မာ', 'ខ្មែរ',
    'ქართული', 'Հայերեն', 'አማርኛ', 'ᐃᓄᒃᑎᑐᑦ', 'ᚠᚢᚦ', 'Tiếng Việt sữa', 'Türkçe süt', 'Română', 'Čeština mléko', 'Magyar tej',
    'Íslenska', 'Føroyskt', 'Cymraeg', 'Gàidhlig', 'Ελληνικά ΆΈΉΊΌΎΏ', 'Ǻǻ Ǽǽ Ǿǿ', 'ḍḥḷṃṇṛṣṭẓ', '𝐁𝐨𝐥𝐝 𝕯𝖔𝖚𝖇𝖑𝖊', '𝟙𝟚𝟛',
    // special tokens written in the text (added tokens are matched before normalization)
    '[CLS]', '[SEP]', '[PAD] [UNK] [MASK]', 'milk [SEP] bread', 'milk[SEP]bread', '[cls] lowercase is not special',
    '[ SEP ]', '[[SEP]]', '[SEP][SEP]', 'x[MASK]y', '[CLS]café[SEP]', '\u00a0[SEP]\u00a0', '[UNK]nown',
    // WordPiece corners
    'unaffable', 'supercalifragilisticexpialidocious', 'xyzzyq', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    '##', '##ing', 'ing##', '#', 'a##b', 'qwrtpsdfghjklzxcvbnm',
  ];
  // words at the 100-character limit (counted in characters of the normalized word)
  cases.push('a'.repeat(100), 'a'.repeat(101), 'é'.repeat(100), 'é'.repeat(101), 'e\u0301'.repeat(100), 'ü'.repeat(101));
  cases.push('milk ' + 'b'.repeat(99) + ' bread', '牛'.repeat(120), '🍎'.repeat(120), 'ab'.repeat(60) + '!' + 'cd'.repeat(10));
  return cases;
}

// corpus returns the golden texts. dataDir is shared/data/groceries.
function corpus(dataDir) {
  const rand = rng(20240531);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const src = path.join(dataDir, 'arules_data_src');
  const items = [...new Set(readLines(path.join(dataDir, 'groceries.csv')).flatMap((l) => l.split(',')))].sort();
  const transactions = readLines(path.join(dataDir, 'groceries.csv'));
  const labelSets = ['Groceries.labels', 'Groceries.cat2.labels', 'Groceries.cat1.labels'].flatMap((f) =>
    labels(path.join(src, f)),
  );
  const english = [...new Set(labelSets.map((l) => l.en))];
  const german = [...new Set(labelSets.map((l) => l.de))];
  const germanSpelled = [...new Set(german.map(respell))];
  const names = [...items, ...english];

  const texts = [];
  const add = (t) => texts.push(t);

  items.forEach(add);
  english.forEach(add);
  german.forEach(add);
  germanSpelled.forEach(add);
  germanSpelled.map(titleCase).forEach(add);
  germanSpelled.map((s) => s.toLowerCase()).forEach(add);

  // Baskets as they appear in groceries.csv.
  for (let i = 0; i < 400; i++) add(pick(transactions));

  // Search-query-like combinations.
  const pre = ['', '', '', 'organic ', 'cheap ', 'fresh ', 'buy ', 'best ', 'bio ', 'frische ', 'günstige ', 'Bio-', 'lactose free ', 'vegan ', 'low fat '];
  const post = ['', '', '', ' near me', ' 2x', ' 500g', ' 1.5l', ' 6-pack', ' sale', ' ohne Zucker', ' für Kinder', ' (family size)', ' & more', ' €1,99', ' $3.49', ' 12oz', '!', '?', ' kaufen', ' angebot', ' pas cher', ' sin azúcar'];
  const joiners = [' ', ' and ', ' & ', ', ', ' + ', ' or ', ' und ', ' mit ', ' with ', ' / ', ' vs '];
  const cases = [(s) => s, (s) => s, (s) => s.toUpperCase(), titleCase, (s) => s.replace(/^./, (c) => c.toUpperCase())];
  for (let i = 0; i < 800; i++) {
    const n = 1 + Math.floor(rand() * 3);
    const parts = [];
    for (let j = 0; j < n; j++) parts.push(rand() < 0.25 ? pick(germanSpelled).toLowerCase() : pick(names));
    let q = pick(pre) + parts[0];
    for (let j = 1; j < n; j++) q += pick(joiners) + parts[j];
    add(pick(cases)(q + pick(post)));
  }

  // Query typos and noise: doubled spaces, missing spaces, stray punctuation, tabs.
  const noise = [
    (s) => s.replace(/ /g, '  '),
    (s) => s.replace(/ /g, ''),
    (s) => s.replace(/ /g, '\t'),
    (s) => '  ' + s + '  \n',
    (s) => s + '!!!',
    (s) => '"' + s + '"',
    (s) => s.split('').join(' '),
    (s) => s.replace(/e/g, 'é').replace(/a/g, 'à'),
    (s) => s.replace(/u/g, 'ü').replace(/o/g, 'ö'),
  ];
  for (let i = 0; i < 200; i++) add(pick(noise)(pick(names)));

  hardCases().forEach(add);

  // Long texts, well over 512 tokens.
  for (let i = 0; i < 8; i++) {
    const parts = [];
    for (let j = 0; j < 60 + 40 * i; j++) parts.push(pick(transactions));
    add(parts.join(i % 2 ? ' | ' : '; '));
  }
  add(hardCases().join(' '));
  add('milk '.repeat(600).trim());
  add('🍎 '.repeat(600).trim());
  add('!'.repeat(1500));
  add(germanSpelled.join(' '));
  return texts;
}

// sweepRanges are code-point ranges tested one code point at a time in the Unicode sweep:
// every code point outside the large uniform blocks (CJK ideographs, Hangul syllables,
// private use, unassigned planes), which are sampled instead.
function sweepCodePoints() {
  const cps = [];
  const sampled = [
    [0x3400, 0x4dbf], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xe000, 0xf8ff], [0x20000, 0x2fa1f],
    [0x30000, 0x323af], [0x323b0, 0xdffff], [0xe0200, 0x10ffff],
  ];
  // Blocks new in Unicode 16 (Todhri, Garay, Tulu-Tigalari, Sunuwar, Gurung Khema, Kirat Rai,
  // Ol Onal, Kawi additions, Egyptian hieroglyphs ext.), kept whole.
  const unicode16 = [[0x105c0, 0x105ff], [0x10d40, 0x10d8f], [0x11380, 0x113ff], [0x11bc0, 0x11bff],
    [0x16100, 0x1613f], [0x16d40, 0x16d7f], [0x1e5d0, 0x1e5ff], [0x13460, 0x143ff], [0x16ea0, 0x16edf], [0x11f00, 0x11f5f]];
  const inSampled = (cp) => sampled.find(([lo, hi]) => cp >= lo && cp <= hi);
  for (let cp = 1; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const r = inSampled(cp);
    if (r) {
      if (cp === r[0] || cp === r[1] || cp % 251 === 0) cps.push(cp);
      continue;
    }
    if (cp >= 0x20000 && cp < 0xe0000) continue;
    // Plane 1 is mostly unassigned: keep what this Node's ICU knows as assigned, the
    // blocks added after it (Unicode 16 scripts show as unassigned here) and a sample.
    if (cp >= 0x10000 && cp < 0x20000 && /\p{Cn}/u.test(String.fromCodePoint(cp)) && cp % 17 !== 0 &&
        !unicode16.some(([lo, hi]) => cp >= lo && cp <= hi)) {
      continue;
    }
    cps.push(cp);
  }
  return cps;
}

// sweep returns texts that each hold n code points, written "a<c>a" and separated by
// spaces, so that each code point's class (dropped, space, punctuation, mark, letter)
// and its lowercase and NFD forms show in the pre-tokenized words.
function sweep(n) {
  const cps = sweepCodePoints();
  const texts = [];
  for (let i = 0; i < cps.length; i += n) {
    texts.push(
      cps
        .slice(i, i + n)
        .map((cp) => 'a' + String.fromCodePoint(cp) + 'a')
        .join(' '),
    );
  }
  return texts;
}

module.exports = { corpus, sweep, hardCases, rng };
