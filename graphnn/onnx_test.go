//go:build cgo

package graphnn

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// sessionGolden is one line of session_golden.jsonl: torch's outputs of the
// default model for one cart alone (scripts/gnn/golden.py).
type sessionGolden struct {
	Cart     []int64     `json:"cart"`
	NumItems int         `json:"n_items"`
	Session  []float64   `json:"session"`
	Top10    [][]float64 `json:"top10"`
}

// ortLibrary returns the ONNX Runtime shared library to use, or "" when none
// is installed (scripts/setup-ort.sh puts it in third_party/onnxruntime).
func ortLibrary() string {
	if p := os.Getenv("ONNXRUNTIME_LIB"); p != "" {
		return p
	}
	p := filepath.Join("..", "third_party", "onnxruntime", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// runModel runs the cart-gnn ONNX model on one built batch and returns the
// session [Size, d] and scores [Size, n_items] outputs.
func runModel(t *testing.T, s *ort.DynamicAdvancedSession, b *Batch) (session, scores *ort.Tensor[float32]) {
	t.Helper()
	is, as, ss := b.ItemsShape(), b.AShape(), b.SeqShape()
	items, err := ort.NewTensor(ort.NewShape(is[:]...), b.Items)
	if err != nil {
		t.Fatal(err)
	}
	defer items.Destroy()
	a, err := ort.NewTensor(ort.NewShape(as[:]...), b.A)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Destroy()
	alias, err := ort.NewTensor(ort.NewShape(ss[:]...), b.Alias)
	if err != nil {
		t.Fatal(err)
	}
	defer alias.Destroy()
	mask, err := ort.NewTensor(ort.NewShape(ss[:]...), b.Mask)
	if err != nil {
		t.Fatal(err)
	}
	defer mask.Destroy()
	outs := []ort.Value{nil, nil}
	if err := s.Run([]ort.Value{items, a, alias, mask}, outs); err != nil {
		t.Fatalf("run model: %v", err)
	}
	t.Cleanup(func() { outs[0].Destroy(); outs[1].Destroy() })
	return outs[0].(*ort.Tensor[float32]), outs[1].(*ort.Tensor[float32])
}

func closeTo(got float32, want float64) bool {
	return math.Abs(float64(got)-want) <= 1e-4*(1+math.Abs(want))
}

// TestONNXModelMatchesTorch runs models/cart-gnn/1/model.onnx in ONNX Runtime
// on tensors from Builder and compares with torch's outputs: each cart alone,
// then all carts in one padded batch (a cart must score the same either way).
// Models trained into build/gnn/<dataset>/ (git-ignored) are checked the same
// way when their session_golden.jsonl is there.
func TestONNXModelMatchesTorch(t *testing.T) {
	lib := ortLibrary()
	if lib == "" {
		t.Skip("ONNX Runtime not installed (scripts/setup-ort.sh or ONNXRUNTIME_LIB)")
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatalf("initialize onnxruntime: %v", err)
	}
	t.Cleanup(func() { _ = ort.DestroyEnvironment() })

	type modelCase struct{ dir, golden string }
	cases := []modelCase{{filepath.Join("..", "models", "cart-gnn"), filepath.Join("testdata", "session_golden.jsonl")}}
	local, _ := filepath.Glob(filepath.Join("..", "build", "gnn", "*", "session_golden.jsonl"))
	for _, g := range local {
		cases = append(cases, modelCase{filepath.Dir(g), g})
	}
	for _, mc := range cases {
		t.Run(filepath.Base(mc.dir), func(t *testing.T) {
			model := filepath.Join(mc.dir, "1", "model.onnx")
			if _, err := os.Stat(model); err != nil {
				t.Skipf("%s not found", model)
			}
			checkModel(t, model, readJSONL[sessionGolden](t, mc.golden))
		})
	}
}

func checkModel(t *testing.T, model string, golden []sessionGolden) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		t.Fatal(err)
	}
	sess, err := ort.NewDynamicAdvancedSession(model,
		[]string{"items", "A", "alias", "mask"}, []string{"session", "scores"}, opts)
	if err != nil {
		t.Fatalf("load %s: %v", model, err)
	}
	defer sess.Destroy()

	n := golden[0].NumItems
	b := Builder{NumItems: n, MaxItems: 50}
	check := func(t *testing.T, g sessionGolden, session, scores []float32) {
		t.Helper()
		for k, want := range g.Session {
			if !closeTo(session[k], want) {
				t.Fatalf("cart %v: session[%d] = %g, want %g", g.Cart, k, session[k], want)
			}
		}
		for _, top := range g.Top10 {
			if i := int(top[0]); !closeTo(scores[i], top[1]) {
				t.Fatalf("cart %v: scores[%d] = %g, want %g", g.Cart, i, scores[i], top[1])
			}
		}
	}

	var batch Batch
	carts := make([][]int64, 0, len(golden))
	for _, g := range golden {
		if err := b.Build([][]int64{g.Cart}, &batch); err != nil {
			t.Fatal(err)
		}
		session, scores := runModel(t, sess, &batch)
		if got := scores.GetShape(); len(got) != 2 || got[0] != 1 || got[1] != int64(n) {
			t.Fatalf("scores shape %v, want [1 %d]", got, n)
		}
		check(t, g, session.GetData(), scores.GetData())
		carts = append(carts, g.Cart)
	}

	if err := b.Build(carts, &batch); err != nil {
		t.Fatal(err)
	}
	session, scores := runModel(t, sess, &batch)
	d := len(golden[0].Session)
	for i, g := range golden {
		check(t, g, session.GetData()[i*d:(i+1)*d], scores.GetData()[i*n:(i+1)*n])
	}
}
