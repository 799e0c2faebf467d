package bm25

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docs is a corpus small enough to score by hand: terms are
// [whole milk] [milk chocolate] [chocolate] [butter] [milk milk] ("&" and
// "!" are punctuation and dropped), N = 5, avgdl = 8/5 = 1.6.
var docs = []string{"whole milk", "milk chocolate", "Chocolate!", "butter", "Milk & milk"}

// Hand-computed with k1 = 1.2, b = 0.75:
//
//	norm(|d|=2) = 1.2·(0.25 + 0.75·2/1.6) = 1.425;  norm(|d|=1) = 1.2·(0.25 + 0.75/1.6) = 0.8625
//	idf(milk)      = ln(1 + (5-3+0.5)/(3+0.5)) = ln(12/7)  = 0.5389965
//	idf(chocolate) = ln(1 + (5-2+0.5)/(2+0.5)) = ln(2.4)   = 0.8754687
//	idf(butter)    = ln(1 + (5-1+0.5)/(1+0.5)) = ln(4)     = 1.3862944
//	milk, tf 1, |d| 2:      0.5389965·2.2/(1+1.425)   = 0.4889865
//	milk, tf 2, |d| 2:      0.5389965·2·2.2/(2+1.425) = 0.6924335
//	chocolate, tf 1, |d| 2: 0.8754687·2.2/2.425       = 0.7942397
//	chocolate, tf 1, |d| 1: 0.8754687·2.2/1.8625      = 1.0341107
//	butter, tf 1, |d| 1:    1.3862944·2.2/1.8625      = 1.6375021, twice in the query: 3.2750041
var want = map[string][]float64{
	"milk":                {0.4889865, 0.4889865, 0, 0, 0.6924335},
	"chocolate":           {0, 0.7942397, 1.0341107, 0, 0},
	"MILK, chocolate":     {0.4889865, 0.4889865 + 0.7942397, 1.0341107, 0, 0.6924335},
	"butter butter":       {0, 0, 0, 3.2750041, 0},
	"crème fraîche":       {0, 0, 0, 0, 0},
	"":                    {0, 0, 0, 0, 0},
	"!!! & ???":           {0, 0, 0, 0, 0},
	"chocolate-chocolate": {0, 2 * 0.7942397, 2 * 1.0341107, 0, 0},
}

func TestScores(t *testing.T) {
	ix, err := New(docs, Params{})
	if err != nil {
		t.Fatal(err)
	}
	for q, w := range want {
		got := ix.Scores(q, nil)
		for i := range w {
			if math.Abs(got[i]-w[i]) > 1e-6 {
				t.Errorf("Scores(%q) = %v, want %v", q, got, w)
				break
			}
		}
	}
}

func TestSearch(t *testing.T) {
	ix, err := New(docs, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	docsOf := func(hits []Hit) []int {
		var out []int
		for _, h := range hits {
			out = append(out, h.Doc)
		}
		return out
	}
	for _, tc := range []struct {
		q     string
		k     int
		allow func(int) bool
		want  []int
	}{
		{"milk", 10, nil, []int{4, 0, 1}}, // tf 2 first, then the tie by position
		{"milk", 2, nil, []int{4, 0}},
		{"milk chocolate", 10, nil, []int{1, 2, 4, 0}},
		{"milk chocolate", 10, func(d int) bool { return d != 1 }, []int{2, 4, 0}},
		{"yogurt", 10, nil, nil},
		{"milk", 0, nil, nil},
	} {
		got := docsOf(ix.Search(tc.q, tc.k, tc.allow))
		if !slices.Equal(got, tc.want) {
			t.Errorf("Search(%q, %d) = %v, want %v", tc.q, tc.k, got, tc.want)
		}
	}
	// The pooled accumulator is left clean: the same query twice scores the same.
	a, b := ix.Search("milk chocolate", 10, nil), ix.Search("milk chocolate", 10, nil)
	if !slices.Equal(a, b) || math.Abs(a[0].Score-(0.4889865+0.7942397)) > 1e-6 {
		t.Errorf("repeat: %v then %v", a, b)
	}
}

func TestTerms(t *testing.T) {
	if got := Terms("Rolls/Buns, Crème-Fraîche 8oz"); !slices.Equal(got, []string{"rolls", "buns", "creme", "fraiche", "8oz"}) {
		t.Errorf("Terms = %q", got)
	}
}

func TestParams(t *testing.T) {
	for _, p := range []Params{{K1: -1, B: 0.5}, {K1: 1, B: 1.5}, {K1: math.NaN(), B: 0.5}, {K1: math.Inf(1), B: 0}} {
		if _, err := New(docs, p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	// b = 0 ignores length: "chocolate" scores the same in both names.
	ix, err := New(docs, Params{K1: 1.2, B: 0})
	if err != nil {
		t.Fatal(err)
	}
	if s := ix.Scores("chocolate", nil); math.Abs(s[1]-s[2]) > 1e-12 {
		t.Errorf("b = 0: %v", s)
	}
	empty, err := New(nil, Params{})
	if err != nil || empty.Search("milk", 5, nil) != nil || empty.Len() != 0 {
		t.Errorf("empty index: %v", err)
	}
}

func TestConcurrentSearch(t *testing.T) {
	ix, err := New(docs, Params{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []Hit, 8)
	for range 8 {
		go func() {
			var last []Hit
			for range 200 {
				last = ix.Search("milk chocolate", 3, nil)
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; len(got) != 3 || got[0].Doc != 1 {
			t.Errorf("concurrent Search = %v", got)
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	names := make([]string, 50000)
	words := []string{"milk", "chocolate", "organic", "whole", "bread", "yogurt", "greek", "vanilla", "cheese", "butter", "sea", "salt"}
	for i := range names {
		names[i] = fmt.Sprintf("%s %s %s item%d", words[i%12], words[i/12%12], words[i/144%12], i)
	}
	ix, err := New(names, Params{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ix.Search("organic vanilla greek yogurt", 10, nil)
	}
}

// TestGroceriesNames searches the default repository's item names.
func TestGroceriesNames(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "models", "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		var item struct{ Name string }
		if err := json.Unmarshal([]byte(line), &item); err != nil {
			t.Fatal(err)
		}
		names = append(names, item.Name)
	}
	ix, err := New(names, Params{})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"whole milk": "whole milk", "baking": "baking powder", "buns": "rolls/buns", "UHT milk": "UHT-milk"} {
		hits := ix.Search(q, 1, nil)
		if len(hits) == 0 || names[hits[0].Doc] != want {
			t.Errorf("Search(%q) = %v, want %q first", q, hits, want)
		}
	}
}

// TestMatches checks the sparse scores against Scores: every name with a
// non-zero score, in position order, and the accumulator left zeroed.
func TestMatches(t *testing.T) {
	ix, err := New(docs, Params{})
	if err != nil {
		t.Fatal(err)
	}
	for q := range want {
		for range 2 { // twice: the pooled accumulator must come back zeroed
			full, sparse := ix.Scores(q, nil), ix.Matches(q, nil)
			j := 0
			for d, s := range full {
				if s == 0 {
					continue
				}
				if j >= len(sparse) || sparse[j].Doc != d || sparse[j].Score != s {
					t.Fatalf("Matches(%q) = %v, Scores %v", q, sparse, full)
				}
				j++
			}
			if j != len(sparse) {
				t.Fatalf("Matches(%q) = %v, Scores %v", q, sparse, full)
			}
		}
	}
}
