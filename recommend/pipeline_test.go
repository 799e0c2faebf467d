package recommend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/rerank"
)

// testSurfaces are the default surfaces with budgets no loaded test
// machine runs out of, so only the tests that mean to take a timeout rung
// take one (tests hold no timed assertions).
func testSurfaces(t *testing.T, edit func(*Surfaces)) *SurfaceStore {
	t.Helper()
	s, err := LoadSurfaces(servetest.Root(t) + "/models/" + SurfacesFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, sf := range s.Surfaces {
		sf.Budgets = Budgets{Features: time.Minute, Embeddings: time.Minute, Candidates: time.Minute, Slate: time.Minute}
		// These tests run without a catalogue: the item tables' level2
		// column stands for the catalogue's aisle.
		sf.Rerank.CategoryAttribute = "level2"
	}
	if edit != nil {
		edit(s)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	store, err := NewSurfaceStore(t.TempDir()+"/none.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	store.Set(s)
	return store
}

// testRepo serves the default repository's cart-gnn and query-encoder with
// the extensions aisle serve registers.
func testRepo(t *testing.T) *servetest.Repo { return benchRepo(t) }

// benchRepo is testRepo for tests and benchmarks, with the shipped
// surfaces file copied beside the models.
func benchRepo(t testing.TB) *servetest.Repo {
	t.Helper()
	root := t.TempDir()
	servetest.CopyModel(t, root, "cart-gnn", nil)
	servetest.CopyModel(t, root, "query-encoder", nil)
	servetest.CopyDir(t, servetest.Root(t)+"/models/"+SurfacesFile, root+"/"+SurfacesFile)
	return servetest.Repository(t, root, servetest.Options{Extensions: map[string]repository.Extension{
		embedding.ExtensionName: embedding.Extension{},
		cart.ExtensionName:      cart.Extension{},
		ItemsExtensionName:      ItemsExtension{},
	}})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func rungs(r *Response) []string {
	var out []string
	for _, g := range r.Degraded {
		out = append(out, g.String())
	}
	return out
}

// seedCart is the README's third seed cart.
var seedCart = []string{"whole milk", "domestic eggs", "sugar"}

type failingFeatures struct{ err error }

func (f failingFeatures) Affinities(ctx context.Context, _ string) (rerank.Affinities, bool, error) {
	if f.err == nil { // late: hold until the budget runs out
		<-ctx.Done()
		return nil, false, ctx.Err()
	}
	return nil, false, f.err
}

type fixedBandit struct {
	picks []Pick
	err   error
}

func (b fixedBandit) Slate(context.Context, SlateRequest) ([]Pick, error) { return b.picks, b.err }

type failingLog struct{}

func (failingLog) LogImpression(context.Context, Impression) error { return errors.New("log down") }

// refusingLog logs nothing by design, and counts the calls.
type refusingLog struct{ calls *int }

func (l refusingLog) LogImpression(context.Context, Impression) error {
	*l.calls++
	return ErrNotLogged
}

// TestDegradationLadder: every rung produces a flagged, non-empty answer
// on the default models.
func TestDegradationLadder(t *testing.T) {
	repo := testRepo(t)
	dairy := MemoryFeatures{"dairy-guest": {"level2": {"dairy produce": 1, "cheese": 1}}}
	cases := []struct {
		name  string
		opts  Options
		edit  func(*Surfaces)
		req   Request
		want  string // a rung that must be flagged; "" = none at all
		check func(*testing.T, *Response)
	}{
		{name: "personal answer, no rung", opts: Options{Features: dairy},
			req: Request{Surface: "cart", GuestID: "dairy-guest", Cart: seedCart}, want: "",
			check: func(t *testing.T, r *Response) {
				if r.Items[0].Source != SourceSession {
					t.Errorf("top item from %s, want session", r.Items[0].Source)
				}
			}},
		{name: "no guest id", opts: Options{Features: dairy}, req: Request{Surface: "cart", Cart: seedCart}, want: "features/unknown_guest"},
		{name: "unknown guest", opts: Options{Features: dairy}, req: Request{Surface: "cart", GuestID: "nobody", Cart: seedCart}, want: "features/unknown_guest"},
		{name: "features down", opts: Options{Features: failingFeatures{errors.New("redis: connection refused")}},
			req: Request{Surface: "cart", GuestID: "g", Cart: seedCart}, want: "features/unavailable"},
		{name: "features late", opts: Options{Features: failingFeatures{}},
			edit: func(s *Surfaces) { s.Surfaces["cart"].Budgets.Features = time.Millisecond },
			req:  Request{Surface: "cart", GuestID: "g", Cart: seedCart}, want: "features/timeout"},
		{name: "model not ready", edit: func(s *Surfaces) { s.Surfaces["cart"].Sources[0].Model = "cart-gnn-v2" },
			req: Request{Surface: "cart", Cart: seedCart}, want: "embeddings/model_not_ready",
			check: func(t *testing.T, r *Response) {
				for _, it := range r.Items {
					if it.Source == SourceSession {
						t.Errorf("session item %s from a model that is not ready", it.ID)
					}
				}
			}},
		{name: "one of two embedding sources not ready", edit: func(s *Surfaces) {
			sf := s.Surfaces["search"]
			sf.Sources = append([]Source{{Kind: SourceSession, Model: "cart-gnn-v2", Budget: 10, Weight: 1},
				{Kind: SourceSession, Model: "cart-gnn", Budget: 10, Weight: 1}}, sf.Sources...)
		}, req: Request{Surface: "search", Cart: seedCart, Query: "baking"}, want: "embeddings/model_not_ready",
			check: func(t *testing.T, r *Response) {
				var sources []string
				for _, it := range r.Items {
					sources = append(sources, it.Source)
				}
				if !slices.Contains(sources, SourceQuery) || !slices.Contains(sources, SourceSession) {
					t.Errorf("sources %v, want query and session", sources)
				}
			}},
		{name: "too few candidates", edit: func(s *Surfaces) {
			s.Surfaces["cart"].Sources[0].Budget = 2
			s.Surfaces["cart"].Sources[2].Budget = 1
		}, req: Request{Surface: "cart", Cart: seedCart}, want: "candidates/backfill",
			check: func(t *testing.T, r *Response) {
				if len(r.Items) != 10 || r.Items[9].Source != "backfill" {
					t.Errorf("%d items, last from %s", len(r.Items), r.Items[len(r.Items)-1].Source)
				}
			}},
		{name: "bandit down", opts: Options{Bandit: fixedBandit{err: errors.New("bandit store down")}},
			req: Request{Surface: "cart", Cart: seedCart}, want: "slate/bandit_unavailable"},
		{name: "bandit slate carries propensities", opts: Options{Bandit: fixedBandit{picks: []Pick{{Arm: 3, Propensity: 0.25}, {Arm: 0, Propensity: 0.5}}}},
			req: Request{Surface: "cart", Cart: seedCart, K: 2}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if len(r.Items) != 2 || r.Items[0].Propensity != 0.25 || r.Items[1].Propensity != 0.5 {
					t.Errorf("items %+v", r.Items)
				}
			}},
		{name: "bandit invalid slate", opts: Options{Bandit: fixedBandit{picks: []Pick{{Arm: 0, Propensity: 0.5}, {Arm: 0, Propensity: 0.5}}}},
			req: Request{Surface: "cart", Cart: seedCart, K: 2}, want: "slate/bandit_unavailable"},
		{name: "event log down", opts: Options{Events: failingLog{}}, req: Request{Surface: "cart", Cart: seedCart}, want: "impression/unavailable"},
		{name: "caller may not write", opts: Options{Events: failingLog{}}, req: Request{Surface: "cart", Cart: seedCart, NoImpression: true},
			want: "impression/not_authorized", check: func(t *testing.T, r *Response) {
				if r.ImpressionID != "" || slices.ContainsFunc(r.Degraded, func(g Rung) bool { return g.Reason == "unavailable" }) {
					t.Errorf("unlogged answer: impression id %q, rungs %v; want no id and no write tried", r.ImpressionID, r.Degraded)
				}
			}},
		{name: "no event log", req: Request{Surface: "cart", Cart: seedCart}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if r.ImpressionID != "" {
					t.Errorf("impression id %q with no event log to hold it", r.ImpressionID)
				}
			}},
		{name: "log declines", opts: Options{Events: refusingLog{calls: new(int)}}, req: Request{Surface: "cart", Cart: seedCart}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if r.ImpressionID != "" {
					t.Errorf("impression id %q the log declined to write", r.ImpressionID)
				}
			}},
		{name: "search query", req: Request{Surface: "search", Query: "baking"}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if r.Items[0].Source != SourceQuery {
					t.Errorf("top item from %s, want query", r.Items[0].Source)
				}
			}},
		{name: "home from views", req: Request{Surface: "home", RecentViews: []string{"butter", "cream cheese"}}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if r.Items[0].Source != SourceNeighbours {
					t.Errorf("top item from %s, want neighbours", r.Items[0].Source)
				}
			}},
		{name: "unknown cart items", req: Request{Surface: "cart", Cart: []string{"caviar", "whole milk"}}, want: "features/unknown_guest",
			check: func(t *testing.T, r *Response) {
				if !slices.Equal(r.Unknown, []string{"caviar"}) {
					t.Errorf("unknown %v", r.Unknown)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tc.opts.Registerer = reg
			p := New(repo.Manager, testSurfaces(t, tc.edit), tc.opts)
			r, err := p.Recommend(ctxT(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Items) == 0 {
				t.Fatal("empty answer")
			}
			got := rungs(r)
			if tc.want == "" && len(got) > 0 || tc.want != "" && !slices.Contains(got, tc.want) {
				t.Fatalf("rungs %v, want %q", got, tc.want)
			}
			if tc.want != "" {
				stage, reason, _ := strings.Cut(tc.want, "/")
				if n := testutil.ToFloat64(p.metrics.degraded.WithLabelValues(stage, reason)); n != 1 {
					t.Errorf("aisle_recommend_degraded_total{%s} = %v", tc.want, n)
				}
			}
			for _, it := range r.Items {
				if slices.Contains(tc.req.Cart, it.Name) {
					t.Errorf("cart item %s recommended", it.Name)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
