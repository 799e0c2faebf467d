package cart

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// TestEnsembleParameters: the ensemble_* block is all or nothing, each
// value is checked, and a bad or missing sessions file refuses the version
// with a message naming it.
func TestEnsembleParameters(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("items.tsv", "id\tname\n0\ta\n1\tb\n2\tc\n")
	write("s.txt", "# header\n0 1\n1 2 2\n\n0 1 2\n")
	write("bad.txt", "0 1\n7 1\n")
	write("junk.txt", "0 x\n")
	write("empty.txt", "# nothing\n")
	const ok = `ensemble_sessions: s.txt, ensemble_weights: "0.3 0.6 0.1", ensemble_knn_k: "2", ensemble_cooccurrence: cosine`
	for _, tc := range []struct {
		params  string
		wantErr string
	}{
		{ok, ""},
		{strings.Replace(ok, `"0.3 0.6 0.1"`, `"0.3,0.6,0.1"`, 1), ""},
		{strings.Replace(ok, "cosine", "count", 1), ""},
		{`ensemble_knn_k: "200"`, "parameter ensemble_knn_k needs ensemble_sessions"},
		{strings.Replace(ok, `"0.3 0.6 0.1"`, `"0.5 0.5"`, 1), "want three weights"},
		{strings.Replace(ok, `"0.3 0.6 0.1"`, `"0.3 0.6 0.2"`, 1), "weights sum to 1.1, want 1"},
		{strings.Replace(ok, `"0.3 0.6 0.1"`, `"-0.1 1 0.1"`, 1), `"-0.1" is not a weight in [0, 1]`},
		{strings.Replace(ok, `"0.3 0.6 0.1"`, `"NaN 1 0"`, 1), `"NaN" is not a weight`},
		{strings.Replace(ok, `"2"`, `"0"`, 1), `parameter ensemble_knn_k "0" must be a positive integer`},
		{strings.Replace(ok, "cosine", "jaccard", 1), `parameter ensemble_cooccurrence "jaccard": want cosine or count`},
		{strings.Replace(ok, "s.txt", "missing.txt", 1), "missing.txt: file does not exist"},
		{strings.Replace(ok, "s.txt", "bad.txt", 1), "ensemble sessions bad.txt line 2: item 7 is not in the item table"},
		{strings.Replace(ok, "s.txt", "junk.txt", 1), `ensemble sessions junk.txt line 1: "x" is not an item id`},
		{strings.Replace(ok, "s.txt", "empty.txt", 1), "ensemble sessions empty.txt: no sessions"},
	} {
		cfg, err := repository.ParseConfig([]byte("max_batch_size: 8\noutputs: [{name: scores, data_type: FP32, dims: [3]}]\nparameters: {items: items, " + tc.params + "}"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := New(dir, cfg)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.params, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: got %v, want %q", tc.params, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), dir):
			t.Errorf("%s: error names the server path: %v", tc.params, err)
		case err == nil && r.ens == nil:
			t.Errorf("%s: no ensemble", tc.params)
		}
	}
}

// TestEnsembleComponents checks session kNN, co-occurrence and the blend
// by hand on three sessions over three items.
func TestEnsembleComponents(t *testing.T) {
	sessions := [][]int32{{0, 1}, {1, 2, 2}, {0, 1, 2}}
	knn := newSessionKNN(sessions, 3, 2)
	var sc knnScratch
	out := make([]float64, 3)
	// Cart {0}: sessions 0 and 2 share item 0, similarities 1/sqrt(2) and 1/sqrt(3).
	knn.score([]int32{0}, &sc, out)
	a, b := 1/math.Sqrt(2), 1/math.Sqrt(3)
	if want := []float64{a + b, a + b, b}; !slices.Equal(out, want) {
		t.Errorf("kNN: got %v, want %v", out, want)
	}
	// k = 1 keeps the most similar session only.
	newSessionKNN(sessions, 3, 1).score([]int32{0}, &sc, out)
	if want := []float64{a, a, 0}; !slices.Equal(out, want) {
		t.Errorf("kNN k=1: got %v, want %v", out, want)
	}
	// Co-occurrence counts: 0-1 twice, 1-2 twice, 0-2 once; n = 2, 3, 2.
	c := newCooccurrence(sessions, 3, true)
	c.score([]int32{0}, out)
	if want := []float64{0, 2 / math.Sqrt(6), 1 / math.Sqrt(4)}; !slices.Equal(out, want) {
		t.Errorf("co-occurrence: got %v, want %v", out, want)
	}
	ranks, order := make([]float64, 4), make([]int, 4)
	normRanks([]float64{5, 1, 5, 3}, order, ranks)
	if want := []float64{2.5 / 3, 0, 2.5 / 3, 1.0 / 3}; !slices.Equal(ranks, want) {
		t.Errorf("normRanks: got %v, want %v", ranks, want)
	}
}

// TestArgPartition: the first kth positions hold the kth smallest values
// (as a multiset), whatever the ties, for sizes around numpy's branches
// (kth < 3, kth = n-1, the median-of-medians fallback on many ties).
func TestArgPartition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 5, 8, 50, 201, 202, 1000, 5000} {
		for _, distinctVals := range []int{2, 7, 1 << 20} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(distinctVals))
			}
			sorted := slices.Sorted(slices.Values(v))
			for _, kth := range []int{0, 1, 2, n / 2, n - 1} {
				if kth < 0 || kth >= n {
					continue
				}
				idx := make([]int32, n)
				for i := range idx {
					idx[i] = int32(i)
				}
				argPartition(v, idx, kth)
				got := make([]float64, kth)
				for i := range kth {
					got[i] = v[idx[i]]
				}
				slices.Sort(got)
				if !slices.Equal(got, sorted[:kth]) || v[idx[kth]] != sorted[kth] {
					t.Fatalf("n %d, %d values, kth %d: first kth not the smallest", n, distinctVals, kth)
				}
				seen := slices.Clone(idx)
				slices.Sort(seen)
				for i, x := range seen {
					if int(x) != i {
						t.Fatalf("n %d kth %d: not a permutation", n, kth)
					}
				}
			}
		}
	}
}

// TestTopRowsSkipsWholeCart: Recommend's session source never returns a
// cart item, also one older than the model's cut (maxCart), which the GNN
// does not see but the surface's filters still drop.
func TestTopRowsSkipsWholeCart(t *testing.T) {
	r := testRecommender(t) // 5 items, maxCart 3; the fake GNN scores row i as i
	sessions := [][]int32{{0, 1, 2, 3, 4}, {4, 3}}
	r.ens = &ensemble{weights: [3]float64{1, 0, 0}, knn: newSessionKNN(sessions, 5, 2),
		cooc: newCooccurrence(sessions, 5, true), pop: []float64{1, 1, 1, 2, 2}}
	r.ens.pool.New = newBlendScratch(5)
	got, _, err := r.TopRows(t.Context(), &fakeRunner{t: t}, []int64{4, 3, 2, 1}, 5, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Row != 0 {
		t.Errorf("TopRows for a 4-item cart over 5 items = %+v, want only row 0", got)
	}
}

// sessionRunner is fakeRunner with a session output: it returns the
// outputs asked for, in order, and counts its calls.
type sessionRunner struct {
	calls   int
	outputs [][]string
}

func (f *sessionRunner) Infer(_ context.Context, req repository.Request) ([]tensor.Tensor, error) {
	f.calls++
	f.outputs = append(f.outputs, req.Outputs)
	var out []tensor.Tensor
	for _, name := range req.Outputs {
		switch name {
		case "scores":
			out = append(out, tensor.FromSlice("scores", []int64{1, 5}, []float32{0, 1, 2, 3, 4}))
		case SessionOutput:
			out = append(out, tensor.FromSlice(SessionOutput, []int64{1, 2}, []float32{0.5, -2}))
		}
	}
	return out, nil
}

// TestTopRowsSession: TopRows asked for the session ranks as without and
// returns the session embedding from the same single model run
// (Recommend's new_items source reads it instead of running the model
// again); without, it asks the model for its scores only.
func TestTopRowsSession(t *testing.T) {
	r := testRecommender(t)
	r.dim = 2
	sessions := [][]int32{{0, 1, 2, 3, 4}, {4, 3}}
	r.ens = &ensemble{weights: [3]float64{1, 0, 0}, knn: newSessionKNN(sessions, 5, 2),
		cooc: newCooccurrence(sessions, 5, true), pop: []float64{1, 1, 1, 2, 2}}
	r.ens.pool.New = newBlendScratch(5)
	run := &sessionRunner{}
	want, vec, err := r.TopRows(t.Context(), run, []int64{1}, 3, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if vec != nil {
		t.Fatalf("TopRows without the session returned one: %v", vec)
	}
	got, vec, err := r.TopRows(t.Context(), run, []int64{1}, 3, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || !slices.Equal(vec, []float32{0.5, -2}) {
		t.Fatalf("with the session: %+v, %v; without %+v", got, vec, want)
	}
	if run.calls != 2 || !slices.Equal(run.outputs[0], []string{"scores"}) || !slices.Equal(run.outputs[1], []string{"scores", SessionOutput}) {
		t.Fatalf("model runs %d, outputs %v: want one run each, the second with the session", run.calls, run.outputs)
	}
	// A session of the wrong shape is left out; the ranking stands.
	r.dim = 3
	got, vec, err = r.TopRows(t.Context(), run, []int64{1}, 3, nil, true)
	if err != nil || !slices.Equal(got, want) || vec != nil {
		t.Fatalf("with a 2-dim session for a 3-dim model: TopRows = %+v, %v, %v; want %+v, no session, no error", got, vec, err, want)
	}
}
