package server

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/embedding"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/tensor"
)

type goldenEmbedding struct {
	Text      string    `json:"text"`
	InputIDs  []int64   `json:"input_ids"`
	Truncated bool      `json:"truncated"`
	Embedding []float32 `json:"embedding"`
}

func readGoldenEmbeddings(t *testing.T, path string) []goldenEmbedding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenEmbedding
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var g goldenEmbedding
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		out = append(out, g)
	}
	return out
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// encoderDirs are the encoders with torch goldens: the committed default,
// and the Instacart one scripts/encoder/train.sh --instacart writes into
// build/ when ../shared/data is present.
var encoderDirs = []string{
	filepath.Join("..", "models", "query-encoder"),
	filepath.Join("..", "build", "encoder", "instacart", "query-encoder-instacart"),
}

// TestEmbedQueryGolden checks the served embeddings of the golden texts
// against torch's, in one call (texts of mixed lengths batched together).
func TestEmbedQueryGolden(t *testing.T) {
	for _, dir := range encoderDirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("%s not built (scripts/encoder/train.sh --instacart)", dir)
			}
			checkGolden(t, dir)
		})
	}
}

func checkGolden(t *testing.T, dir string) {
	root := t.TempDir()
	name := filepath.Base(dir)
	copyDir(t, dir, filepath.Join(root, name))
	ts := startServerWith(t, root, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{})}
	})
	c := aislepb.NewPersonalizationClient(ts.conn)
	ctx := testCtx(t)
	golden := readGoldenEmbeddings(t, filepath.Join(dir, "golden_embeddings.jsonl"))
	texts := make([]string, len(golden))
	for i, g := range golden {
		texts[i] = g.Text
	}
	resp, err := c.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Model: name, Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != len(golden) || resp.Dim != int32(len(golden[0].Embedding)) {
		t.Fatalf("got %d embeddings of dim %d", len(resp.Embeddings), resp.Dim)
	}
	for i, g := range golden {
		got := resp.Embeddings[i]
		if c := cosine(got.Values, g.Embedding); c < 0.9999 || maxAbsDiff(got.Values, g.Embedding) > 1e-4 {
			t.Errorf("%q: cosine %.6f, max diff %.2g", g.Text, c, maxAbsDiff(got.Values, g.Embedding))
		}
		if int(got.TokenCount) < len(g.InputIDs) || got.Truncated != g.Truncated {
			t.Errorf("%q: token_count %d truncated %v, golden %d tokens truncated %v", g.Text, got.TokenCount, got.Truncated, len(g.InputIDs), g.Truncated)
		}
	}
}

// TestEmbedQueryMatchesKServe checks EmbedQuery and a KServe BYTES
// ModelInfer on the same model give the same vectors.
func TestEmbedQueryMatchesKServe(t *testing.T) {
	rc := startPersonalization(t, "query-encoder")
	ctx := testCtx(t)
	texts := []string{"whole milk", "organic baking supplies for a birthday cake", ""}
	emb, err := rc.c.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Model: "query-encoder", Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]byte, len(texts))
	for i, s := range texts {
		raw[i] = []byte(s)
	}
	resp, err := rc.ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "query-encoder",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: embedding.TextInput, Datatype: "BYTES", Shape: []int64{3},
			Contents: &pb.InferTensorContents{BytesContents: raw}}}})
	if err != nil {
		t.Fatal(err)
	}
	out := resp.Outputs[0]
	if out.Name != embedding.EmbeddingOutput || out.Shape[0] != 3 || out.Shape[1] != int64(emb.Dim) {
		t.Fatalf("KServe output %v", out)
	}
	vals := out.Contents.Fp32Contents
	for i := range texts {
		if d := maxAbsDiff(vals[i*int(emb.Dim):(i+1)*int(emb.Dim)], emb.Embeddings[i].Values); d > 1e-6 {
			t.Errorf("text %d differs by %g", i, d)
		}
	}
	// Raw BYTES form (length-prefixed) gives the same answer.
	rawResp, err := rc.ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "query-encoder",
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: embedding.TextInput, Datatype: "BYTES", Shape: []int64{3, 1}}},
		RawInputContents: [][]byte{tensor.EncodeStrings(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tensor.View[float32](rawResp.RawOutputContents[0]); maxAbsDiff(got, vals) > 1e-6 {
		t.Error("raw BYTES answer differs from typed")
	}
}

func TestEmbedQueryBadInput(t *testing.T) {
	rc := startPersonalization(t, "query-encoder", "cart-gnn")
	ctx := testCtx(t)
	many := make([]string, 10000)
	for i := range many {
		many[i] = "milk"
	}
	long := strings.Repeat("organic whole milk ", 3000) // ~57 KB, under the 64 KiB text limit
	cases := []struct {
		name string
		req  *aislepb.EmbedQueryRequest
		code codes.Code
		msg  string
	}{
		{"empty list", &aislepb.EmbedQueryRequest{}, codes.InvalidArgument, "no texts"},
		{"10000 texts", &aislepb.EmbedQueryRequest{Texts: many}, codes.InvalidArgument, "at most 1024"},
		{"text over the limit", &aislepb.EmbedQueryRequest{Texts: []string{"milk", strings.Repeat("x", DefaultMaxTextBytes+1)}}, codes.InvalidArgument, "texts[1]"},
		{"unknown model", &aislepb.EmbedQueryRequest{Model: "nope", Texts: []string{"x"}}, codes.NotFound, "nope"},
		{"not an encoder", &aislepb.EmbedQueryRequest{Model: "cart-gnn", Texts: []string{"x"}}, codes.InvalidArgument, "not a text encoder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rc.c.EmbedQuery(ctx, tc.req)
			st, _ := status.FromError(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
				t.Fatalf("got %v %q, want %v containing %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
		})
	}
	// An empty string and a 57 KB text are answered; the long one truncated.
	resp, err := rc.c.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Texts: []string{"", long}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Embeddings[0].Truncated || !resp.Embeddings[1].Truncated || resp.Embeddings[1].TokenCount <= 32 {
		t.Fatalf("empty/long: %v %v", resp.Embeddings[0].Truncated, resp.Embeddings[1])
	}
	// Invalid UTF-8 through the KServe BYTES path is INVALID_ARGUMENT.
	_, err = rc.ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "query-encoder",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "text", Datatype: "BYTES", Shape: []int64{1},
			Contents: &pb.InferTensorContents{BytesContents: [][]byte{{0xff, 0xfe, 'm'}}}}}})
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "UTF-8") {
		t.Fatalf("invalid UTF-8: %v", err)
	}
}

// TestDropInEncoders serves two differently shaped BERT-family exports (one
// without token_type_ids, other hidden size, depth and pooling) with only a
// config.yaml and tokenizer.json beside them.
func TestDropInEncoders(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{"enc-a", "enc-b"} {
		copyDir(t, filepath.Join("..", "testdata", "encoders", name), filepath.Join(root, name))
	}
	ts := startServerWith(t, root, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{})}
	})
	c := aislepb.NewPersonalizationClient(ts.conn)
	ctx := testCtx(t)
	for _, name := range []string{"enc-a", "enc-b"} {
		t.Run(name, func(t *testing.T) {
			golden := readGoldenEmbeddings(t, filepath.Join("..", "testdata", "encoders", name, "golden.jsonl"))
			texts := make([]string, len(golden))
			for i, g := range golden {
				texts[i] = g.Text
			}
			resp, err := c.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Model: name, Texts: texts})
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range golden {
				got := resp.Embeddings[i].Values
				if len(got) != len(g.Embedding) || cosine(got, g.Embedding) < 0.9999 || maxAbsDiff(got, g.Embedding) > 1e-4 {
					t.Errorf("%q: served vector differs from torch (dim %d vs %d)", g.Text, len(got), len(g.Embedding))
				}
			}
		})
	}
}
