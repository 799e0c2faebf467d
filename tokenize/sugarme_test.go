package tokenize

import (
	"fmt"
	"slices"
	"testing"

	sugarme "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// The tests here measure github.com/sugarme/tokenizer v0.3.0 against the same goldens and
// benchmark texts. They record why this package implements the BERT pipeline itself: they
// log, they do not fail, when sugarme disagrees with the reference.

func loadSugarme(tb testing.TB) *sugarme.Tokenizer {
	tb.Helper()
	tk, err := pretrained.FromFile(tokenizerJSONPath)
	if err != nil {
		tb.Fatal(err)
	}
	return tk
}

// sugarmeEncode runs sugarme on one text, turning its panics into errors.
func sugarmeEncode(tk *sugarme.Tokenizer, text string) (ids []int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	enc, err := tk.EncodeSingle(text, true)
	if err != nil {
		return nil, err
	}
	return enc.Ids, nil
}

func TestSugarmeAgreement(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("slow with -short or -race, and it checks no concurrency")
	}
	tk := loadSugarme(t)
	cases := readGolden(t, goldenPath)
	differ, failed := 0, 0
	for _, g := range cases {
		ids, err := sugarmeEncode(tk, g.Text)
		if err != nil {
			failed++
			continue
		}
		want := make([]int, len(g.IDs))
		for i, id := range g.IDs {
			want[i] = int(id)
		}
		if !slices.Equal(ids, want) {
			differ++
			if differ <= 5 {
				t.Logf("sugarme %q:\n got  %v\n want %v", g.Text, ids, want)
			}
		}
	}
	t.Logf("sugarme/tokenizer v0.3.0: %d of %d golden texts differ from the reference, %d fail",
		differ, len(cases), failed)
}

func BenchmarkSugarmeEncode(b *testing.B) {
	tk := loadSugarme(b)
	texts := benchTexts(b)
	b.ResetTimer()
	failed := 0
	for i := 0; b.Loop(); i++ {
		if _, err := sugarmeEncode(tk, texts[i%len(texts)]); err != nil {
			failed++ // a few golden texts make sugarme panic; see TestSugarmeAgreement
		}
	}
	reportTextsPerSec(b)
	b.ReportMetric(float64(failed)/float64(b.N), "failed/op")
}
