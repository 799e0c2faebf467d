package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/internal/servetest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
)

// startRecommend serves the default repository (cart-gnn, query-encoder and
// surfaces.yaml) with the recommendation pipeline, as aisle serve does
// with --recommend-log-open (every answer logged); edit, when set,
// rewrites the surfaces file.
func startRecommend(t *testing.T, edit func(string) string) (aislepb.PersonalizationClient, *recommend.MemoryEventLog) {
	t.Helper()
	return startRecommendConfig(t, edit, Config{}, true)
}

// startRecommendConfig is startRecommend with the server's config and
// PersonalizationConfig.RecommendLogOpen.
func startRecommendConfig(t *testing.T, edit func(string) string, cfg Config, logOpen bool) (aislepb.PersonalizationClient, *recommend.MemoryEventLog) {
	t.Helper()
	root := t.TempDir()
	copyModel(t, root, "cart-gnn")
	copyModel(t, root, "query-encoder")
	surfaces := filepath.Join(servetest.Root(t), "models", recommend.SurfacesFile)
	data := readFile(t, surfaces)
	if edit != nil {
		data = edit(data)
	}
	writeAtomic(t, filepath.Join(root, recommend.SurfacesFile), []byte(data))
	events := &recommend.MemoryEventLog{Cap: 100}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ts := startServerConfig(t, root, 0, cfg, func(repo Repository) []Service {
		store, err := recommend.NewSurfaceStore(filepath.Join(root, recommend.SurfacesFile), quiet)
		if err != nil {
			t.Fatal(err)
		}
		pipe := recommend.New(repo, store, recommend.Options{Events: events, Logger: quiet})
		return []Service{NewPersonalization(repo, PersonalizationConfig{Pipeline: pipe, RecommendLogOpen: logOpen})}
	})
	return aislepb.NewPersonalizationClient(ts.conn), events
}

// TestRecommendSeedCarts: the README's seed carts and query through the
// real server on loopback with the default repository.
func TestRecommendSeedCarts(t *testing.T) {
	c, events := startRecommend(t, nil)
	ctx := testCtx(t)
	for _, req := range []*aislepb.RecommendRequest{
		{Surface: "cart", Cart: []string{"whole milk"}},
		{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}},
		{Surface: "cart", Cart: []string{"whole milk", "domestic eggs", "sugar"}, SessionId: "s1"},
		{Surface: "search", Query: "baking"},
		{Surface: "home", RecentViews: []string{"butter"}},
	} {
		resp, err := c.Recommend(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Items) != 10 || resp.ImpressionId == "" || !hasRung(resp, "features", "unknown_guest") {
			t.Fatalf("%v: %v", req, resp)
		}
		for _, it := range resp.Items {
			if slices.Contains(req.Cart, it.Name) || it.Propensity != 1 || it.Components == nil {
				t.Errorf("%v: item %v", req, it)
			}
		}
	}
	if n := len(events.Impressions()); n != 5 {
		t.Fatalf("%d impressions logged, want 5", n)
	}
}

// TestRecommendDegradesThroughServer: a surface whose session model is not
// in the repository answers from popularity, flagged.
func TestRecommendDegradesThroughServer(t *testing.T) {
	c, _ := startRecommend(t, func(s string) string {
		return strings.Replace(s, "{kind: session, model: cart-gnn, budget: 100}", "{kind: session, model: cart-gnn-next, budget: 100}", 1)
	})
	resp, err := c.Recommend(testCtx(t), &aislepb.RecommendRequest{Surface: "cart", Cart: []string{"whole milk"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Items) == 0 || !hasRung(resp, "embeddings", "model_not_ready") {
		t.Fatalf("%v", resp)
	}
}

func TestRecommendBadInput(t *testing.T) {
	c, _ := startRecommend(t, nil)
	ctx := testCtx(t)
	for _, tc := range []struct {
		req  *aislepb.RecommendRequest
		code codes.Code
		msg  string
	}{
		{&aislepb.RecommendRequest{Surface: "checkout"}, codes.NotFound, `unknown surface: "checkout"`},
		{&aislepb.RecommendRequest{Surface: "cart", K: 51}, codes.InvalidArgument, "k 51 must be in [0, 50]"},
		{&aislepb.RecommendRequest{Surface: "search", Query: strings.Repeat("a", 1025)}, codes.InvalidArgument, "query of 1025 bytes"},
		{&aislepb.RecommendRequest{Surface: "cart", Cart: make([]string, 201)}, codes.InvalidArgument, "201 cart items"},
	} {
		_, err := c.Recommend(ctx, tc.req)
		if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
			t.Errorf("%v: %v, want %v %q", tc.req, err, tc.code, tc.msg)
		}
	}
	rc := startPersonalization(t, "cart-gnn")
	if _, err := rc.c.Recommend(ctx, &aislepb.RecommendRequest{Surface: "cart"}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("no pipeline: %v", err)
	}
}

func hasRung(resp *aislepb.RecommendResponse, stage, reason string) bool {
	for _, d := range resp.Degraded {
		if d.Stage == stage && d.Reason == reason {
			return true
		}
	}
	return false
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// BenchmarkGRPCRecommend runs the whole pipeline over gRPC on the default
// repository: the 2-item cart on the cart surface, and the same cart with
// the query "baking" on the search surface. Budgets are the shipped ones,
// so an overloaded run shows up as degraded answers, reported per call.
func BenchmarkGRPCRecommend(b *testing.B) {
	for _, bc := range []struct {
		name string
		req  *aislepb.RecommendRequest
	}{
		{"cart", &aislepb.RecommendRequest{Surface: "cart", Cart: []string{"whole milk", "domestic eggs"}}},
		{"cart+query", &aislepb.RecommendRequest{Surface: "search", Cart: []string{"whole milk", "domestic eggs"}, Query: "baking"}},
	} {
		root := b.TempDir()
		benchCopy(b, root, "cart-gnn", nil)
		benchCopy(b, root, "query-encoder", nil)
		writeAtomic(b, filepath.Join(root, recommend.SurfacesFile),
			[]byte(readFile(b, filepath.Join(servetest.Root(b), "models", recommend.SurfacesFile))))
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		var degraded atomic.Int64
		conn := startServerOpts(b, root, 0, func(repo Repository) []Service {
			store, err := recommend.NewSurfaceStore(filepath.Join(root, recommend.SurfacesFile), quiet)
			if err != nil {
				b.Fatal(err)
			}
			pipe := recommend.New(repo, store, recommend.Options{Logger: quiet})
			return []Service{NewPersonalization(repo, PersonalizationConfig{Pipeline: pipe})}
		}).conn
		client := aislepb.NewPersonalizationClient(conn)
		for _, c := range benchConcurrency {
			b.Run(fmt.Sprintf("%s/c=%d", bc.name, c), func(b *testing.B) {
				degraded.Store(0)
				benchCalls(b, c, func(ctx context.Context) error {
					resp, err := client.Recommend(ctx, bc.req)
					if err == nil && (hasRung(resp, "embeddings", "timeout") || hasRung(resp, "candidates", "backfill")) {
						degraded.Add(1)
					}
					return err
				})
				b.ReportMetric(float64(degraded.Load())/float64(b.N), "degraded/op")
			})
		}
	}
}
