package tokenize

import (
	"testing"
)

// benchTexts are the golden texts, the same ones scripts/tokenizer/bench.js feeds the
// reference.
func benchTexts(tb testing.TB) []string {
	tb.Helper()
	cases := readGolden(tb, goldenPath)
	texts := make([]string, len(cases))
	for i, g := range cases {
		texts[i] = g.Text
	}
	return texts
}

// queryBytes bounds the golden texts used as search queries in BenchmarkEncodeQueries
// and in bench.js: 2,410 of the 2,478 are this short.
const queryBytes = 100

// reportTextsPerSec reports throughput in texts per second: each benchmark iteration
// encodes one text.
func reportTextsPerSec(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "texts/s")
	}
}

// BenchmarkEncode encodes the golden texts one at a time on one goroutine, with the
// default MaxSeqLen (512).
func BenchmarkEncode(b *testing.B) {
	tok := mustLoad(b, tokenizerJSONPath, Options{})
	texts := benchTexts(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := tok.Encode(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
	reportTextsPerSec(b)
}

// BenchmarkEncodeParallel encodes the golden texts from GOMAXPROCS goroutines sharing one
// Tokenizer.
func BenchmarkEncodeParallel(b *testing.B) {
	tok := mustLoad(b, tokenizerJSONPath, Options{})
	texts := benchTexts(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := tok.Encode(texts[i%len(texts)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	reportTextsPerSec(b)
}

// BenchmarkEncodeQueries is BenchmarkEncode on the golden texts of at most queryBytes
// bytes, the size of search queries and product names.
func BenchmarkEncodeQueries(b *testing.B) {
	tok := mustLoad(b, tokenizerJSONPath, Options{})
	var texts []string
	for _, t := range benchTexts(b) {
		if len(t) <= queryBytes {
			texts = append(texts, t)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := tok.Encode(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
	reportTextsPerSec(b)
}
