package recommend

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

// TestCandidateListsSkip: with a skip, the BM25 and intent lists are the
// top c of the docs not skipped (a full sort of the rest), the soft
// list's pruning included; a quarter of the docs are skipped, so the
// unskipped tops lose members to it.
func TestCandidateListsSkip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 2000
	ids, names, cats := make([]string, n), make([]string, n), make([]string, n)
	cosine := make([]float64, n)
	skipped := make([]bool, n)
	for d := range n {
		ids[d] = fmt.Sprint(d)
		names[d] = fmt.Sprintf("w%d w%d", rng.IntN(300), rng.IntN(300))
		cats[d] = fmt.Sprintf("c%d", rng.IntN(8))
		cosine[d] = float64(rng.IntN(9)) / 8
		skipped[d] = rng.IntN(4) == 0
	}
	ix, err := NewTextIndex(ids, names, cats)
	if err != nil {
		t.Fatal(err)
	}
	cos := func(d int32) float64 { return cosine[d] }
	skip := func(d int32) bool { return skipped[d] }
	best := func(all []ranked, c int) []int32 {
		slices.SortFunc(all, func(a, b ranked) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.tie, a.tie), cmp.Compare(a.doc, b.doc))
		})
		var docs []int32
		for _, x := range all[:min(c, len(all))] {
			docs = append(docs, x.doc)
		}
		return docs
	}
	for _, query := range []string{"c3", "w1", "w7 w200", "c4 w5"} {
		sig, err := ix.Text(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		var lex []ranked
		for _, h := range sig.lexical {
			if !skipped[h.Doc] {
				lex = append(lex, ranked{doc: int32(h.Doc), score: h.Score})
			}
		}
		for _, soft := range []bool{false, true} {
			var in []ranked
			for _, a := range topCategories(sig.posterior) {
				for _, d := range ix.members[a] {
					if !skipped[d] {
						in = append(in, ranked{doc: d, score: sig.intent(int(d), soft), tie: cosine[d]})
					}
				}
			}
			for _, c := range []int{1, 7, 200, 5000} {
				if got, want := sig.lexicalTop(c, skip, nil), best(lex, c); !slices.Equal(got, want) {
					t.Fatalf("%q lexical c %d: %v, want %v", query, c, got, want)
				}
				if got, want := sig.intentTop(c, soft, cos, skip, nil), best(in, c); !slices.Equal(got, want) {
					t.Fatalf("%q intent soft %v c %d: %v, want %v", query, soft, c, got, want)
				}
			}
		}
	}
}

// TestHybridUnionExclusions: a guest's exclusions take no slot in any of
// the three candidate lists, so the union does not shrink. The catalogue
// makes the lists disjoint for the category query "fruit": the items
// nearest the query vector (dense), the names holding "fruit" (lexical,
// labelled nuts) and the names predicted in fruit (intent). Excluding the
// top 3 of each list leaves 3C candidates, the rest of the old union
// among them; filling the lists first and dropping the excluded after
// left C + 2(C − 3).
func TestHybridUnionExclusions(t *testing.T) {
	const group, c = 20, 5
	var ids, names, cats []string
	var vecs []float32
	for g, grp := range []struct {
		name, cat string
		angle     float64 // from the query vector (1, 0)
	}{{"dd%d plain", "other", 0}, {"fruit nut l%d", "nuts", math.Pi / 2}, {"pear i%d", "fruit", math.Pi}} {
		for i := range group {
			ids = append(ids, fmt.Sprint(g*group+i))
			names = append(names, fmt.Sprintf(grp.name, i))
			cats = append(cats, grp.cat)
			a := grp.angle + float64(i)/100
			vecs = append(vecs, float32(math.Cos(a)), float32(math.Sin(a)))
		}
	}
	n := len(ids)
	items := &Items{table: &catalog.Table{Items: make([]catalog.Item, n)}, ids: ids, byID: map[string]int{},
		vectors: &catalog.Matrix{Rows: n, Dim: 2, Data: vecs}}
	for r, id := range ids {
		items.byID[id] = r
		items.table.Items[r] = catalog.Item{ID: int64(r), Name: names[r]}
	}
	var err error
	if items.index, err = NewFlatIndex(items.vectors); err != nil {
		t.Fatal(err)
	}
	ix, err := NewTextIndex(ids, names, cats)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sig, err := ix.Text(ctx, "fruit")
	if err != nil || !sig.CategoryQuery() {
		t.Fatalf("fruit: %v, category query %v", err, sig.CategoryQuery())
	}
	q := []float32{1, 0}
	all, err := hybridUnion(ctx, items, q, sig, false, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3*c {
		t.Fatalf("union without exclusions: %d rows %v, want 3C = %d (the catalogue's lists should be disjoint)", len(all), all, 3*c)
	}
	// Exclude the top 3 of each list: the dense group's first rows are
	// nearest the query; the lexical and intent lists are asked.
	excluded := map[string]bool{}
	for _, list := range [][]int32{sig.lexicalTop(3, nil, nil), sig.intentTop(3, false, func(d int32) float64 { return dot(q, items.Vector(int(d))) }, nil, nil)} {
		for _, d := range list {
			excluded[ix.ids[d]] = true
		}
	}
	for r := range 3 {
		excluded[ids[r]] = true
	}
	rest, err := hybridUnion(ctx, items, q, sig, false, c, func(id string) bool { return excluded[id] })
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 3*c {
		t.Errorf("union with %d exclusions: %d rows, want %d", len(excluded), len(rest), 3*c)
	}
	for _, r := range rest {
		if excluded[ids[r]] {
			t.Errorf("excluded item %s in the union", ids[r])
		}
	}
	for _, r := range all {
		if !excluded[ids[r]] && !slices.Contains(rest, r) {
			t.Errorf("item %s left the union though not excluded", ids[r])
		}
	}
}
