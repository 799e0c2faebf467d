package tokenize

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer holds the options of Hugging Face's BertNormalizer.
type normalizer struct {
	cleanText    bool // drop control characters, map whitespace to ' '
	chineseChars bool // surround CJK ideographs with spaces
	stripAccents bool // NFD, then drop non-spacing marks
	lowercase    bool
}

// bertUncased is the normalizer of bert-base-uncased.
var bertUncased = normalizer{cleanText: true, chineseChars: true, stripAccents: true, lowercase: true}

// asciiOp is what the fused normalizer and pre-tokenizer do with one ASCII byte.
type asciiOp struct {
	kind uint8 // opKeep, opDrop, opSplit or opPunct
	out  byte  // the byte after normalization (opKeep, opPunct)
}

const (
	opKeep  uint8 = iota // append out to the current word
	opDrop               // removed by clean_text
	opSplit              // whitespace: ends the current word
	opPunct              // punctuation: a word of its own
)

// pipeline runs the BertNormalizer, the BertPreTokenizer and the WordPiece model on a
// span of text that holds no added token. It is read-only after newPipeline, so safe for
// concurrent use; per-call buffers live in a scratch.
type pipeline struct {
	norm    normalizer
	classes *[denseLimit]uint8
	ascii   [utf8.RuneSelf]asciiOp
	wp      *wordPiece
}

func newPipeline(n normalizer, wp *wordPiece) *pipeline {
	p := &pipeline{norm: n, classes: denseClasses(), wp: wp}
	for b := range utf8.RuneSelf {
		r := rune(b)
		c := p.class(r)
		switch {
		case n.cleanText && c&classDrop != 0:
			p.ascii[b] = asciiOp{kind: opDrop}
			continue
		case n.cleanText && c&classCleanSpace != 0:
			r = ' '
		case n.lowercase && c&classLower != 0:
			r, _ = toLower(r)
		}
		c = p.class(r)
		switch {
		case c&classSpace != 0:
			p.ascii[b] = asciiOp{kind: opSplit}
		case c&classPunct != 0:
			p.ascii[b] = asciiOp{kind: opPunct, out: byte(r)}
		default:
			p.ascii[b] = asciiOp{kind: opKeep, out: byte(r)}
		}
	}
	return p
}

func (p *pipeline) class(r rune) uint8 {
	if r >= 0 && r < denseLimit {
		return p.classes[r]
	}
	return sparseClass(r)
}

// scratch holds the buffers of one Encode call.
type scratch struct {
	ids  []int64 // WordPiece ids of the text, without special tokens
	norm []byte  // text after clean_text and handle_chinese_chars
	nfd  []byte  // the same after NFD
	word []byte  // the current pre-tokenized word

	// onWord, when set, receives each pre-tokenized word instead of WordPiece (tests).
	onWord func(word []byte)
}

// appendSegment tokenizes seg and appends its ids to s.ids.
func (p *pipeline) appendSegment(s *scratch, seg string) {
	if isASCII(seg) {
		p.appendASCII(s, seg)
	} else {
		p.appendUnicode(s, seg)
	}
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// flush runs WordPiece on the current word, if any, and empties it.
func (p *pipeline) flush(s *scratch, word []byte) []byte {
	if len(word) > 0 {
		if s.onWord != nil {
			s.onWord(word)
		} else {
			s.ids = p.wp.appendIDs(s.ids, word)
		}
	}
	return word[:0]
}

// appendASCII is appendSegment for ASCII text, where NFD is the identity and every
// byte's fate is in p.ascii.
func (p *pipeline) appendASCII(s *scratch, seg string) {
	word := s.word[:0]
	for i := range len(seg) {
		op := p.ascii[seg[i]]
		switch op.kind {
		case opKeep:
			word = append(word, op.out)
		case opSplit:
			word = p.flush(s, word)
		case opPunct:
			word = p.flush(s, word)
			word = p.flush(s, append(word, op.out))
		}
	}
	s.word = p.flush(s, word)
}

// appendUnicode is appendSegment for any text. It follows the reference's order: clean
// text, CJK spacing, NFD and mark removal, lowercase, then the pre-tokenizer's splits on
// the result.
func (p *pipeline) appendUnicode(s *scratch, seg string) {
	n := p.norm
	text := s.norm[:0]
	keep := false
	for _, r := range seg {
		c := p.class(r)
		switch {
		case n.cleanText && c&classDrop != 0:
			continue
		case n.cleanText && c&classCleanSpace != 0:
			text = append(text, ' ')
			continue
		case n.chineseChars && c&classChinese != 0:
			text = append(text, ' ')
			text = utf8.AppendRune(text, r)
			text = append(text, ' ')
			continue
		case r == nfdKeep:
			keep = true
		}
		text = utf8.AppendRune(text, r)
	}
	s.norm = text
	if n.stripAccents {
		switch {
		case keep:
			s.nfd = appendNFDKeep(s.nfd[:0], text)
			text = s.nfd
		case !norm.NFD.IsNormal(text):
			s.nfd = norm.NFD.Append(s.nfd[:0], text...)
			text = s.nfd
		}
	}

	word := s.word[:0]
	for i := 0; i < len(text); {
		if b := text[i]; b < utf8.RuneSelf {
			// clean_text has run, so p.ascii's other steps are what is left to do.
			i++
			switch op := p.ascii[b]; op.kind {
			case opKeep:
				word = append(word, op.out)
			case opSplit:
				word = p.flush(s, word)
			case opPunct:
				word = p.flush(s, word)
				word = p.flush(s, append(word, op.out))
			}
			continue
		}
		r, size := utf8.DecodeRune(text[i:])
		i += size
		c := p.class(r)
		if n.stripAccents && c&classMark != 0 {
			continue
		}
		if n.lowercase && c&classLower != 0 {
			if r == capitalIDot {
				// Neither "i" nor U+0307 is whitespace or punctuation.
				word = append(word, "i\u0307"...)
				continue
			}
			r, _ = toLower(r)
			c = p.class(r)
		}
		switch {
		case c&classSpace != 0:
			word = p.flush(s, word)
		case c&classPunct != 0:
			word = p.flush(s, word)
			word = p.flush(s, utf8.AppendRune(word, r))
		default:
			word = utf8.AppendRune(word, r)
		}
	}
	s.word = p.flush(s, word)
}

// appendNFDKeep appends the NFD of text to dst, leaving nfdKeep undecomposed.
func appendNFDKeep(dst, text []byte) []byte {
	keep := utf8.AppendRune(nil, nfdKeep)
	for {
		i := bytes.Index(text, keep)
		if i < 0 {
			return norm.NFD.Append(dst, text...)
		}
		dst = norm.NFD.Append(dst, text[:i]...)
		dst = append(dst, keep...)
		text = text[i+len(keep):]
	}
}
