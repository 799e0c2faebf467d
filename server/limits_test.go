package server

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// TestFieldLimits: every bounded field over its limit is INVALID_ARGUMENT
// naming the field, before any work: the models named do not exist, so a
// check made after the model lookup would answer NOT_FOUND instead.
func TestFieldLimits(t *testing.T) {
	lim := Limits{MaxTextBytes: 100, MaxTexts: 3, MaxCartItems: 4, MaxK: 20, MaxTensorRank: 3, MaxTensorElements: 1000}
	ts := startServerConfig(t, identRepo(t), 0, Config{Limits: lim}, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{Limits: lim})}
	})
	ctx := testCtx(t)
	pc := aislepb.NewPersonalizationClient(ts.conn)
	long := strings.Repeat("x", 101)
	cases := []struct {
		name, field string
		call        func() error
	}{
		{"text bytes", "texts[1]", func() error {
			_, err := pc.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Model: "nope", Texts: []string{"milk", long}})
			return err
		}},
		{"texts per call", "texts:", func() error {
			_, err := pc.EmbedQuery(ctx, &aislepb.EmbedQueryRequest{Model: "nope", Texts: []string{"a", "b", "c", "d"}})
			return err
		}},
		{"cart length", "item_ids, item_names and exclude_ids", func() error {
			_, err := pc.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: "nope", ItemIds: []int64{1, 2, 3}, ItemNames: []string{"a", "b"}})
			return err
		}},
		{"cart item name", "item_names[0]", func() error {
			_, err := pc.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: "nope", ItemNames: []string{long}})
			return err
		}},
		{"k", "k: 21", func() error {
			_, err := pc.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: "nope", ItemIds: []int64{1}, K: 21})
			return err
		}},
		{"negative k", "k: -1", func() error {
			_, err := pc.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: "nope", ItemIds: []int64{1}, K: -1})
			return err
		}},
		{"shape rank", `input "x": shape has 4 dimensions`, func() error {
			_, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "nope",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1, 1, 1}}}})
			return err
		}},
		{"element count", `input "x": shape [1000 1000] has 1000000 elements`, func() error {
			_, err := ts.client.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: "nope",
				Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{1000, 1000}}}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			st, _ := status.FromError(err)
			if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), tc.field) {
				t.Fatalf("got %v %q, want INVALID_ARGUMENT naming %q", st.Code(), st.Message(), tc.field)
			}
		})
	}
	// Within the limits the request reaches the model.
	if err := infer(ctx, ts.client); err != nil {
		t.Fatal(err)
	}
}

// TestEmbedHugeText sends an 8 MiB text with the text limit raised: the
// encoder keeps its 32 tokens, answers, and reports the text truncated.
// (Its cost no longer depends on the text's length: see
// tokenize.TestBoundedHugeText for the allocation bound.)
func TestEmbedHugeText(t *testing.T) {
	root := t.TempDir()
	copyModel(t, root, "query-encoder")
	lim := Limits{MaxTextBytes: 16 << 20}
	ts := startServerConfig(t, root, 0, Config{MaxRecvMsgSize: 32 << 20}, func(repo Repository) []Service {
		return []Service{NewPersonalization(repo, PersonalizationConfig{Limits: lim})}
	})
	huge := strings.Repeat("organic whole milk ", 8<<20/19)
	resp, err := aislepb.NewPersonalizationClient(ts.conn).EmbedQuery(testCtx(t), &aislepb.EmbedQueryRequest{Texts: []string{huge, "organic whole milk"}})
	if err != nil {
		t.Fatal(err)
	}
	e := resp.Embeddings[0]
	if !e.Truncated || e.TokenCount <= 32 || len(e.Values) == 0 {
		t.Fatalf("huge text: truncated %v, token_count %d", e.Truncated, e.TokenCount)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l    Limits
		name string // "": valid
	}{
		{Limits{MaxTexts: 5000}, "max-texts"},
		{Limits{MaxK: -1}, "max-k"},
		{Limits{MaxTensorElements: -1}, "max-tensor-elements"},
		{Limits{}, ""},
		{Limits{MaxTexts: DefaultMaxTexts, MaxK: 5}, ""},
	} {
		err := tc.l.Validate()
		var le *LimitError
		if tc.name == "" && err != nil || tc.name != "" && (!errors.As(err, &le) || le.Name != tc.name) {
			t.Errorf("%+v: %v, want a LimitError for %q", tc.l, err, tc.name)
		}
	}
}
