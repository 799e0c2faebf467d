package tokenize

import (
	"bytes"
	"math"
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

	// limit, when > 0, makes the call bounded: tokenizing stops once ids holds limit
	// ids, and a word is kept only up to the length where WordPiece is sure to make it
	// [UNK] (see maxWordBytes).
	limit int

	// onWord, when set, receives each pre-tokenized word instead of WordPiece (tests).
	onWord func(word []byte)
}

// full reports whether a bounded call holds all the ids it needs.
func (s *scratch) full() bool { return s.limit > 0 && len(s.ids) >= s.limit }

// maxWordBytes is how many bytes of one word a call keeps. A bounded call keeps
// (maxChars+1)*utf8.UTFMax: a word that long has more than maxChars characters, so
// WordPiece turns it into [UNK] whatever follows, and the rest of a giant word need
// not be stored.
func (s *scratch) maxWordBytes(wp *wordPiece) int {
	if s.limit == 0 {
		return math.MaxInt
	}
	return (wp.maxChars + 1) * utf8.UTFMax
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
	maxWord := s.maxWordBytes(p.wp)
	for i := range len(seg) {
		op := p.ascii[seg[i]]
		switch op.kind {
		case opKeep:
			if len(word) < maxWord {
				word = append(word, op.out)
			}
			continue
		case opSplit:
			word = p.flush(s, word)
		case opPunct:
			word = p.flush(s, word)
			word = p.flush(s, append(word, op.out))
		}
		if s.full() {
			s.word = word
			return
		}
	}
	s.word = p.flush(s, word)
}

// appendUnicode is appendSegment for any text. It follows the reference's order: clean
// text, CJK spacing, NFD and mark removal, lowercase, then the pre-tokenizer's splits on
// the result. A bounded call (s.limit > 0) normalizes seg a chunk at a time and stops
// once s holds enough ids, so a huge text costs what its first tokens cost.
func (p *pipeline) appendUnicode(s *scratch, seg string) {
	if s.limit == 0 {
		s.word = p.flush(s, p.appendWords(s, p.normalize(s, seg), s.word[:0]))
		return
	}
	word := s.word[:0]
	for len(seg) > 0 && !s.full() {
		cut := nfdCut(seg, chunkBytes)
		word = p.appendWords(s, p.normalize(s, seg[:cut]), word)
		seg = seg[cut:]
	}
	if s.full() {
		// The rest of the word lies past the ids that are kept.
		s.word = word[:0]
		return
	}
	s.word = p.flush(s, word)
}

// chunkBytes is how much text a bounded call normalizes at once: small enough that
// stopping wastes little work, large enough that the per-chunk overhead is noise.
const chunkBytes = 4 << 10

// nfdCut returns where to cut seg so that its first part holds about n bytes and the NFD
// of the parts, concatenated, is the NFD of seg: the cut is at a normalization boundary
// (before a starter), which the text after it cannot reorder across. Every other step
// of the pipeline works a character at a time, and the pre-tokenizer's current word is
// carried over the cut. A run of more than maxNFDScan bytes without a boundary (only
// combining marks) is cut anyway; such a word is far longer than any WordPiece
// vocabulary allows and becomes [UNK] either way.
func nfdCut(seg string, n int) int {
	if len(seg) <= n {
		return len(seg)
	}
	for n > 0 && !utf8.RuneStart(seg[n]) {
		n--
	}
	rest := seg[n:]
	if len(rest) > maxNFDScan {
		rest = rest[:maxNFDScan]
	}
	if j := norm.NFD.FirstBoundaryInString(rest); j >= 0 {
		return n + j
	}
	return n
}

const maxNFDScan = 1 << 10

// normalize runs clean text, CJK spacing and (when stripping accents) NFD on seg, into
// s's buffers.
func (p *pipeline) normalize(s *scratch, seg string) []byte {
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
	return text
}

// appendWords removes marks, lowercases and splits normalized text into words, running
// WordPiece on each word it completes; it returns the word still open at the end of text.
func (p *pipeline) appendWords(s *scratch, text, word []byte) []byte {
	n := p.norm
	maxWord := s.maxWordBytes(p.wp)
	for i := 0; i < len(text); {
		if b := text[i]; b < utf8.RuneSelf {
			// clean_text has run, so p.ascii's other steps are what is left to do.
			i++
			switch op := p.ascii[b]; op.kind {
			case opKeep:
				if len(word) < maxWord {
					word = append(word, op.out)
				}
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
				if len(word) < maxWord {
					word = append(word, "i\u0307"...)
				}
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
			if len(word) < maxWord {
				word = utf8.AppendRune(word, r)
			}
		}
	}
	return word
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
