package embedding

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/tensor"
)

// fakeEncoder returns hidden[s] = [id_s, s, 1] for each position, so
// pooled values can be computed by hand.
type fakeEncoder struct{ calls atomic.Int64 }

func (f *fakeEncoder) Infer(_ context.Context, req repository.Request) ([]tensor.Tensor, error) {
	f.calls.Add(1)
	ids := tensor.View[int64](req.Inputs[0].Data)
	out := make([]float32, 0, 3*len(ids))
	for s, id := range ids {
		out = append(out, float32(id), float32(s), 1)
	}
	return []tensor.Tensor{tensor.FromSlice("last_hidden_state", []int64{1, int64(len(ids)), 3}, out)}, nil
}

func newTestEncoder(t *testing.T, params string) *Encoder {
	t.Helper()
	dir := t.TempDir()
	vocab, err := os.ReadFile(filepath.Join("..", "tokenize", "testdata", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), vocab, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := repository.ParseConfig([]byte(`
max_batch_size: 8
inputs:
  - {name: input_ids, data_type: INT64, dims: [-1]}
  - {name: attention_mask, data_type: INT64, dims: [-1]}
outputs:
  - {name: last_hidden_state, data_type: FP32, dims: [-1, 3]}
parameters: {tokenizer: vocab.txt, max_seq_len: "6", ` + params + `}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEmbedPooling(t *testing.T) {
	cases := []struct {
		params string
		want   []float32 // for "milk": ids [101 6501 102]
	}{
		{`pooling: mean, normalize: "false"`, []float32{(101 + 6501 + 102) / 3.0, 1, 1}},
		{`pooling: cls, normalize: "false"`, []float32{101, 0, 1}},
		{`pooling: cls`, normalized([]float32{101, 0, 1})},
	}
	for _, tc := range cases {
		e := newTestEncoder(t, tc.params)
		res, err := e.Embed(t.Context(), &fakeEncoder{}, []string{"milk"})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].TokenCount != 3 || res[0].Truncated {
			t.Fatalf("%s: %+v", tc.params, res[0])
		}
		for i := range tc.want {
			if math.Abs(float64(res[0].Vector[i]-tc.want[i])) > 1e-4 {
				t.Fatalf("%s: vector %v, want %v", tc.params, res[0].Vector, tc.want)
			}
		}
	}
}

func normalized(v []float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x * x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(ss))
	}
	return out
}

func TestEmbedLimits(t *testing.T) {
	e := newTestEncoder(t, "pooling: mean")
	f := &fakeEncoder{}
	res, err := e.Embed(t.Context(), f, []string{"organic whole milk and free range eggs", ""})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Truncated || res[0].TokenCount <= 6 || res[1].TokenCount != 2 || f.calls.Load() != 2 {
		t.Fatalf("results %+v, calls %d", res, f.calls.Load())
	}
	for name, texts := range map[string][]string{
		"none":     nil,
		"too many": make([]string, MaxTexts+1),
		"bad utf8": {"ok", string([]byte{0xff})},
	} {
		if _, err := e.Embed(t.Context(), f, texts); !errors.Is(err, ErrInvalidText) {
			t.Errorf("%s: err = %v, want ErrInvalidText", name, err)
		}
	}
}

func TestInferText(t *testing.T) {
	e := newTestEncoder(t, "pooling: mean")
	req := repository.Request{Inputs: []tensor.Tensor{{Name: "text", DType: tensor.Bytes, Shape: []int64{2, 1}, Strings: [][]byte{[]byte("milk"), []byte("eggs")}}}}
	if !AcceptsText(req) {
		t.Fatal("a single BYTES input is text")
	}
	outs, err := e.InferText(t.Context(), &fakeEncoder{}, req)
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Name != EmbeddingOutput || outs[0].Shape[0] != 2 || outs[0].Shape[1] != 3 {
		t.Fatalf("output %v", outs[0])
	}
	req.Inputs[0].Shape = []int64{1, 2}
	if _, err := e.InferText(t.Context(), &fakeEncoder{}, req); !errors.Is(err, ErrInvalidText) || !strings.Contains(err.Error(), "[n, 1]") {
		t.Fatalf("bad shape: %v", err)
	}
}

func TestNewRejectsBadParameters(t *testing.T) {
	for _, params := range []string{`pooling: max`, `max_seq_len: "-3"`, `output: logits`} {
		dir := t.TempDir()
		cfg, err := repository.ParseConfig([]byte("inputs: [{name: input_ids, data_type: INT64, dims: [-1]}]\noutputs: [{name: h, data_type: FP32, dims: [-1, 3]}]\nparameters: {tokenizer: vocab.txt, " + params + "}\n"))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nmilk\n"), 0o644)
		if _, err := New(dir, cfg); err == nil {
			t.Errorf("%s: want an error", params)
		}
	}
}
