package bm25

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/aisle-ai/aisle/tokenize"
)

// Defaults for Params (package doc).
const (
	DefaultK1 = 1.2
	DefaultB  = 0.75
)

// Params are BM25's free parameters.
type Params struct {
	K1 float64 // term-frequency saturation, >= 0
	B  float64 // length normalisation, in [0, 1]
}

// DefaultParams are k1 = 1.2, b = 0.75.
var DefaultParams = Params{K1: DefaultK1, B: DefaultB}

// Hit is one scored name: Doc is its position in the slice given to New.
type Hit struct {
	Doc   int
	Score float64
}

// scratch is one query's accumulators: acc has one score per name and is
// all zero between queries; touched lists the names acc holds a score for.
type scratch struct {
	acc     []float64
	touched []int32
}

type posting struct {
	doc    int32
	weight float64 // idf · tf·(k1+1) / (tf + norm): the term's whole contribution
}

// Index is a BM25 index over a fixed list of names.
type Index struct {
	n        int
	postings map[string][]posting
	pool     sync.Pool // *scratch: per-query buffers, returned zeroed
}

// Terms returns the terms BM25 indexes of text (package doc).
func Terms(text string) []string {
	words := tokenize.BasicWords(text)
	out := words[:0]
	for _, w := range words {
		if r, size := utf8.DecodeRuneInString(w); size == len(w) && isPunct(r) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// isPunct mirrors BERT's punctuation test: ASCII symbols and Unicode P*.
func isPunct(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

// Validate reports parameters outside their ranges.
func (p Params) Validate() error {
	if !(p.K1 >= 0) || math.IsInf(p.K1, 0) || !(p.B >= 0 && p.B <= 1) {
		return fmt.Errorf("bm25: k1 %v must be finite and >= 0, b %v in [0, 1]", p.K1, p.B)
	}
	return nil
}

// New indexes docs with p; a zero Params means DefaultParams.
func New(docs []string, p Params) (*Index, error) {
	if p == (Params{}) {
		p = DefaultParams
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	ix := &Index{n: len(docs), postings: map[string][]posting{}}
	ix.pool.New = func() any { return &scratch{acc: make([]float64, ix.n)} }
	lens := make([]int, len(docs))
	tfs := make([]map[string]int, len(docs))
	total := 0
	for i, d := range docs {
		terms := Terms(d)
		lens[i], total = len(terms), total+len(terms)
		tfs[i] = map[string]int{}
		for _, t := range terms {
			tfs[i][t]++
		}
	}
	avgdl := 0.0
	if len(docs) > 0 {
		avgdl = float64(total) / float64(len(docs))
	}
	df := map[string]int{}
	for _, m := range tfs {
		for t := range m {
			df[t]++
		}
	}
	for i, m := range tfs {
		norm := p.K1 * (1 - p.B + p.B*float64(lens[i])/avgdl)
		for t, tf := range m {
			idf := math.Log(1 + (float64(ix.n)-float64(df[t])+0.5)/(float64(df[t])+0.5))
			w := idf * float64(tf) * (p.K1 + 1) / (float64(tf) + norm)
			ix.postings[t] = append(ix.postings[t], posting{doc: int32(i), weight: w})
		}
	}
	return ix, nil
}

// Len returns the number of names indexed.
func (ix *Index) Len() int { return ix.n }

// Scores writes every name's score for query into dst (grown to Len()) and
// returns it; names sharing no term score 0. For evaluation and fusion
// over the whole catalogue.
func (ix *Index) Scores(query string, dst []float64) []float64 {
	dst = append(dst[:0], make([]float64, ix.n)...)
	ix.accumulate(query, dst, nil)
	return dst
}

// accumulate adds the query's postings to acc and, when touched is not
// nil, appends every doc it touched for the first time.
func (ix *Index) accumulate(query string, acc []float64, touched *[]int32) {
	qtf := map[string]int{}
	for _, t := range Terms(query) {
		qtf[t]++
	}
	for t, q := range qtf {
		for _, p := range ix.postings[t] {
			if touched != nil && acc[p.doc] == 0 {
				*touched = append(*touched, p.doc)
			}
			acc[p.doc] += float64(q) * p.weight
		}
	}
}

// Search returns the k best names for query, best first (ties by position),
// among those allow accepts (nil allows all). Names sharing no term with
// the query are never returned, so fewer than k hits is normal.
func (ix *Index) Search(query string, k int, allow func(doc int) bool) []Hit {
	if k <= 0 || ix.n == 0 {
		return nil
	}
	sc := ix.pool.Get().(*scratch)
	acc := sc.acc
	sc.touched = sc.touched[:0]
	ix.accumulate(query, acc, &sc.touched)
	h := make(hitHeap, 0, k+1)
	for _, d := range sc.touched {
		s := acc[d]
		acc[d] = 0 // leave the accumulator zeroed for the next query
		if allow != nil && !allow(int(d)) {
			continue
		}
		if len(h) < k {
			heap.Push(&h, Hit{Doc: int(d), Score: s})
		} else if better(Hit{Doc: int(d), Score: s}, h[0]) {
			h[0] = Hit{Doc: int(d), Score: s}
			heap.Fix(&h, 0)
		}
	}
	ix.pool.Put(sc)
	out := make([]Hit, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&h).(Hit)
	}
	return out
}

// Matches appends to dst every name sharing a term with query, with its
// score, in position order, and returns it: the sparse form of Scores, for
// callers that must not allocate a score per name (hybrid search reads
// the scores of a few hundred candidates). It uses the pooled
// accumulator; its cost is the query's postings, not Len.
func (ix *Index) Matches(query string, dst []Hit) []Hit {
	dst = dst[:0]
	if ix.n == 0 {
		return dst
	}
	sc := ix.pool.Get().(*scratch)
	acc := sc.acc
	sc.touched = sc.touched[:0]
	ix.accumulate(query, acc, &sc.touched)
	slices.Sort(sc.touched)
	for _, d := range sc.touched {
		dst = append(dst, Hit{Doc: int(d), Score: acc[d]})
		acc[d] = 0 // leave the accumulator zeroed for the next query
	}
	ix.pool.Put(sc)
	return dst
}

// better orders hits: higher score first, then lower position.
func better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Doc < b.Doc
}

// hitHeap is a min-heap by better: its root is the worst hit kept.
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
