"""Pure-Python BERT uncased tokenizer that mirrors Hugging Face `tokenizers`.

It reproduces what a `tokenizer.json` with BertNormalizer (clean_text, handle_chinese_chars,
strip_accents=null, lowercase=true) + BertPreTokenizer + WordPiece + the BERT
TemplateProcessing post-processor does, including the special added tokens, which are matched
in the raw text before normalisation (non-normalised, case-sensitive, leftmost-longest).

Where the original Google BERT BasicTokenizer and the Rust implementation disagree, this file
follows the Rust one (the Go server reads tokenizer.json):
  * whitespace is Rust's `char::is_whitespace` (White_Space property, e.g. U+2028 counts);
  * accents are stripped (NFD, drop Mn) *before* lowercasing, lowercasing is per character
    (no Greek final-sigma context rule);
  * the CJK ranges are the ones in tokenizers/src/normalizers/bert.rs;
  * clean_text drops Cc/Cf/Co/Cs characters but keeps unassigned (Cn) code points.
"""

import json
import re
import unicodedata

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIALS = [PAD, UNK, CLS, SEP, MASK]
MAX_CHARS_PER_WORD = 100
CONT = "##"

# Rust char::is_whitespace (Unicode White_Space property).
_RUST_WS = set(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
    + list(range(0x2000, 0x200B))
)


def is_whitespace(c):
    return ord(c) in _RUST_WS


def is_control(c):
    # Rust's unicode_categories `is_other`: Cc, Cf, Co, Cs. Unassigned (Cn) code points are kept.
    if c in "\t\n\r":
        return False
    return unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs")


def is_punctuation(c):
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_chinese_char(c):
    cp = ord(c)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B920 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


# ASCII fast path: controls other than \t \n \r are dropped, those three become spaces.
_ASCII_CLEAN = {c: None for c in list(range(32)) + [127]}
_ASCII_CLEAN.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})
_ASCII_WORDS = re.compile(r"[^ !-/:-@\[-`{-~]+|[!-/:-@\[-`{-~]")


def normalize(text):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None->lowercase, lowercase)."""
    if text.isascii():
        return text.translate(_ASCII_CLEAN).lower()
    out = []
    for c in text:
        cp = ord(c)
        if cp == 0 or cp == 0xFFFD or is_control(c):
            continue
        out.append(" " if is_whitespace(c) else c)
    text = "".join(out)
    out = []
    for c in text:
        if is_chinese_char(c):
            out.extend((" ", c, " "))
        else:
            out.append(c)
    text = "".join(out)
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return "".join(c.lower() for c in text)


def pre_tokenize(text):
    """BertPreTokenizer: split on whitespace (removed) and punctuation (isolated)."""
    if text.isascii() and text.isprintable():
        return _ASCII_WORDS.findall(text)
    words, cur = [], []
    for c in text:
        if is_whitespace(c):
            if cur:
                words.append("".join(cur))
                cur = []
        elif is_punctuation(c):
            if cur:
                words.append("".join(cur))
                cur = []
            words.append(c)
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return words


def basic_tokenize(text):
    return pre_tokenize(normalize(text))


def wordpiece(word, vocab):
    """Greedy longest-match-first WordPiece. Returns a list of token strings."""
    if len(word) > MAX_CHARS_PER_WORD:
        return [UNK]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        cur = None
        while start < end:
            sub = word[start:end]
            if start > 0:
                sub = CONT + sub
            if sub in vocab:
                cur = sub
                break
            end -= 1
        if cur is None:
            return [UNK]
        pieces.append(cur)
        start = end
    return pieces


def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        toks = [line.rstrip("\n") for line in f]
    return toks


class BertTokenizer:
    """Tokenizer over a vocabulary (list of token strings, index = id)."""

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        for s in SPECIALS:
            if s not in self.vocab:
                raise ValueError("vocabulary lacks %s" % s)
        self._wp_cache = {}
        self._enc_cache = {}

    def _split_specials(self, text):
        """Split raw text around special tokens (leftmost-longest, case-sensitive)."""
        parts, i, last = [], 0, 0
        specials = sorted(SPECIALS, key=len, reverse=True)
        while i < len(text):
            if text[i] == "[":
                hit = next((s for s in specials if text.startswith(s, i)), None)
                if hit is not None:
                    if last < i:
                        parts.append((False, text[last:i]))
                    parts.append((True, hit))
                    i += len(hit)
                    last = i
                    continue
            i += 1
        if last < len(text):
            parts.append((False, text[last:]))
        return parts

    def word_tokens(self, word):
        r = self._wp_cache.get(word)
        if r is None:
            r = wordpiece(word, self.vocab)
            self._wp_cache[word] = r
        return r

    def tokenize(self, text):
        """Word pieces of text, no [CLS]/[SEP]."""
        out = []
        for is_special, part in self._split_specials(text):
            if is_special:
                out.append(part)
                continue
            for w in basic_tokenize(part):
                out.extend(self.word_tokens(w))
        return out

    def encode(self, text, max_len=None):
        """Token ids with [CLS] ... [SEP]; if max_len is set, keeps the first max_len-2 pieces."""
        key = (text, max_len)
        ids = self._enc_cache.get(key)
        if ids is None:
            toks = self.tokenize(text)
            if max_len is not None and len(toks) > max_len - 2:
                toks = toks[: max_len - 2]
            ids = [self.vocab[CLS]] + [self.vocab[t] for t in toks] + [self.vocab[SEP]]
            self._enc_cache[key] = ids
        return list(ids)

    def to_hf_json(self):
        """The Hugging Face tokenizer.json document (dict) for this vocabulary."""
        v = self.vocab
        special = lambda s: {"SpecialToken": {"id": s, "type_id": 0}}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": v[s],
                    "content": s,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for s in SPECIALS
            ],
            "normalizer": {
                "type": "BertNormalizer",
                "clean_text": True,
                "handle_chinese_chars": True,
                "strip_accents": None,
                "lowercase": True,
            },
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [
                    special(CLS),
                    {"Sequence": {"id": "A", "type_id": 0}},
                    special(SEP),
                ],
                "pair": [
                    special(CLS),
                    {"Sequence": {"id": "A", "type_id": 0}},
                    special(SEP),
                    {"Sequence": {"id": "B", "type_id": 1}},
                    {"SpecialToken": {"id": SEP, "type_id": 1}},
                ],
                "special_tokens": {
                    s: {"id": s, "ids": [v[s]], "tokens": [s]} for s in (CLS, SEP)
                },
            },
            "decoder": {"type": "WordPiece", "prefix": CONT, "cleanup": True},
            "model": {
                "type": "WordPiece",
                "unk_token": UNK,
                "continuing_subword_prefix": CONT,
                "max_input_chars_per_word": MAX_CHARS_PER_WORD,
                "vocab": {t: i for i, t in enumerate(self.tokens)},
            },
        }

    def save(self, vocab_path, tokenizer_json_path):
        with open(vocab_path, "w", encoding="utf-8", newline="\n") as f:
            for t in self.tokens:
                f.write(t + "\n")
        with open(tokenizer_json_path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")


def build_subset_vocab(full_tokens, texts):
    """Subset of a full BERT vocabulary.

    Order: the 5 specials, then (in full-vocabulary order) every token the full tokenizer
    produces on `texts`, every single-character token and its ## form. Returns (tokens, stats).
    """
    full = BertTokenizer(full_tokens)
    used = set()
    words = set()
    for t in texts:
        for is_special, part in full._split_specials(t):
            if not is_special:
                words.update(basic_tokenize(part))
    for w in words:
        used.update(full.word_tokens(w))
    single = set()
    for t in full_tokens:
        core = t[2:] if t.startswith(CONT) else t
        if len(core) == 1:
            single.add(t)
            if not t.startswith(CONT) and CONT + t in full.vocab:
                single.add(CONT + t)
    keep = used | single
    out = list(SPECIALS) + [t for t in full_tokens if t in keep and t not in SPECIALS]
    # Checks: every corpus word gets the same pieces with the subset as with the full vocab.
    sub = BertTokenizer(out)
    bad = [w for w in words if sub.word_tokens(w) != full.word_tokens(w)]
    if bad:
        raise AssertionError("subset vocab changes the tokenisation of %d words, e.g. %r" % (len(bad), bad[:5]))
    stats = {
        "distinct_words": len(words),
        "corpus_tokens": len(used),
        "single_char_tokens": len(single),
        "size": len(out),
        "unk_words": sum(1 for w in words if full.word_tokens(w) == [UNK]),
    }
    return out, stats
