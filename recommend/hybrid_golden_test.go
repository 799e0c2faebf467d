package recommend

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

// hybridGolden is testdata/hybrid_golden.json (scripts/eval/hybrid_golden.py).
type hybridGolden struct {
	Cases []struct {
		Query     string    `json:"query"`
		Embedding []float32 `json:"embedding"`
		Runs      []struct {
			Hybrid struct {
				Text, Category struct {
					Form    string  `json:"intent_form"`
					Lexical float64 `json:"lexical"`
					Intent  float64 `json:"intent"`
				}
			} `json:"hybrid"`
			Route string      `json:"route"`
			C     int         `json:"c"`
			Top   []goldenHit `json:"top"`
		} `json:"runs"`
	} `json:"cases"`
}

type goldenHit struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// TestHybridGolden checks that the served hybrid search (TextIndex over the
// committed catalogue, hybridTop over the encoder's item table) ranks as
// the evaluation's Python does (scripts/eval/intent.py), on the committed
// Groceries repository and the encoder's golden query embeddings: the same
// top 20 ids with the same scores, on A7's candidate union at C = 200 (more
// than the 169 items: every item) and C = 5 (a real subset). Items whose
// scores differ by less than 1e-9 may swap (summation order differs in the
// last bits).
func TestHybridGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/hybrid_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g hybridGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	items, err := LoadItems("../models/query-encoder/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load("../models/catalog.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var ids, names, aisles []string
	for _, p := range cat.All() {
		ids, names, aisles = append(ids, p.ID), append(names, p.Name), append(aisles, p.Aisle)
	}
	ix, err := NewTextIndex(ids, names, aisles)
	if err != nil {
		t.Fatal(err)
	}
	runs, categories := 0, 0
	for _, c := range g.Cases {
		for _, run := range c.Runs {
			runs++
			if run.Route == "category" {
				categories++
			}
			sig, err := ix.Text(context.Background(), c.Query)
			if err != nil {
				t.Fatal(err)
			}
			if sig.CategoryQuery() != (run.Route == "category") {
				t.Fatalf("%q: category query %v, Python routes it to %s", c.Query, sig.CategoryQuery(), run.Route)
			}
			tx, ct := run.Hybrid.Text, run.Hybrid.Category
			h := &Hybrid{Text: HybridRoute{&tx.Lexical, &tx.Intent, tx.Form}, Category: HybridRoute{&ct.Lexical, &ct.Intent, ct.Form}}
			if err := h.validate(); err != nil {
				t.Fatal(err)
			}
			w := h.weights(sig.CategoryQuery())
			got, err := hybridTop(context.Background(), items, c.Embedding, sig, w, len(run.Top), run.C, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(run.Top) {
				t.Fatalf("%q %+v: %d hits, want %d", c.Query, w, len(got), len(run.Top))
			}
			for i, want := range run.Top {
				if math.Abs(got[i].score-want.Score) > 1e-9 {
					t.Errorf("%q %+v: #%d score %v, want %v (%s)", c.Query, w, i, got[i].score, want.Score, want.ID)
					break
				}
				if got[i].id != want.ID && !nearTie(run.Top, i) {
					t.Errorf("%q %+v: #%d is %s, want %s", c.Query, w, i, got[i].id, want.ID)
					break
				}
			}
		}
	}
	if runs < 150 || categories < 8 {
		t.Fatalf("%d golden runs, %d of category queries", runs, categories)
	}
}

// nearTie reports whether position i's expected score is within 1e-9 of a
// neighbour's, where the order may legitimately differ.
func nearTie(top []goldenHit, i int) bool {
	return i > 0 && math.Abs(top[i].Score-top[i-1].Score) < 1e-9 ||
		i+1 < len(top) && math.Abs(top[i].Score-top[i+1].Score) < 1e-9
}
