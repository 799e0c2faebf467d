package recommend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/repository"
	"github.com/aisle-ai/aisle/rerank"
)

// TestPopularSnapshot: with its model unloaded, the popular source answers
// from the last snapshot, flagged.
func TestPopularSnapshot(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	req := Request{Surface: "cart", Cart: seedCart}
	if _, err := p.Recommend(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	if err := repo.Manager.UnloadModel(ctxT(t), "cart-gnn"); err != nil {
		t.Fatal(err)
	}
	r, err := p.Recommend(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	got := rungs(r)
	if len(r.Items) == 0 || !slices.Contains(got, "candidates/popular_snapshot") || !slices.Contains(got, "embeddings/model_not_ready") {
		t.Fatalf("%d items, rungs %v", len(r.Items), got)
	}
	fresh := New(repo.Manager, testSurfaces(t, nil), Options{})
	if _, err := fresh.Recommend(ctxT(t), req); !errors.Is(err, ErrNoCandidates) {
		t.Fatalf("never-ready popular model: %v", err)
	}
}

// TestPopularSnapshotsOverlap: while a reload's old and new versions both
// serve calls, each version's popularity snapshot is built once, not on
// every switch; a third version evicts the older; a model not ready gets
// the latest loaded, even when a rollback loads a lower version after it.
func TestPopularSnapshotsOverlap(t *testing.T) {
	p := New(nil, &SurfaceStore{}, Options{})
	version := func(n int64, load uint64) *model {
		return &model{v: &repository.Version{Number: n}, items: &Items{load: load}}
	}
	v1, v2, v3 := version(1, 1), version(2, 2), version(3, 3)
	for range 5 {
		for _, m := range []*model{v1, v2} {
			if s := p.snapshot("pop", m); s.version != m.v.Number {
				t.Fatalf("version %d got the snapshot of %d", m.v.Number, s.version)
			}
		}
	}
	if p.snapshotBuilds != 2 {
		t.Fatalf("versions 1 and 2 in turn built %d snapshots, want 2", p.snapshotBuilds)
	}
	p.snapshot("pop", v3)
	p.snapshot("pop", v2)
	if p.snapshotBuilds != 3 {
		t.Fatalf("after version 3 (and 2 again): %d snapshots built, want 3", p.snapshotBuilds)
	}
	if s := p.snapshot("pop", &model{err: repository.ErrNotReady}); s == nil || s.version != 3 {
		t.Fatalf("model not ready: snapshot %+v, want version 3's", s)
	}
	// A rollback: version 3 removed, version 2 loaded again (a new table).
	rolled := p.snapshot("pop", version(2, 4))
	if s := p.snapshot("pop", &model{err: repository.ErrNotReady}); s != rolled {
		t.Fatalf("model not ready after a rollback: snapshot of version %d load %d, want version 2's reload", s.version, s.load)
	}
	p.snapshot("pop", v1)
	if p.snapshotBuilds != 5 {
		t.Fatalf("version 1 after the rollback: %d snapshots built, want 5 (evicted)", p.snapshotBuilds)
	}
}

// TestPopularSnapshotReplacedInPlace: a version replaced in place keeps
// its number but loads a new item table (Items.load); its snapshot must be
// the new table's, and a model not ready then gets the later load's.
func TestPopularSnapshotReplacedInPlace(t *testing.T) {
	p := New(nil, &SurfaceStore{}, Options{})
	v := &repository.Version{Number: 3}
	old := p.snapshot("pop", &model{v: v, items: &Items{load: 1}})
	now := p.snapshot("pop", &model{v: v, items: &Items{load: 2}})
	if old == now || now.load != 2 {
		t.Fatalf("the replaced version got the old table's snapshot (load %d)", now.load)
	}
	if s := p.snapshot("pop", &model{err: repository.ErrNotReady}); s != now {
		t.Fatalf("model not ready: snapshot of load %d, want the later load's", s.load)
	}
}

// TestAffinityMovesTowardDairy: the same home request for a guest with a
// dairy-heavy history shows more dairy than for an unknown guest.
func TestAffinityMovesTowardDairy(t *testing.T) {
	repo := testRepo(t)
	feats := MemoryFeatures{"dairy-guest": {"level2": {"dairy produce": 0.6, "cheese": 0.6}}}
	p := New(repo.Manager, testSurfaces(t, nil), Options{Features: feats})
	dairy := func(guest string) int {
		r, err := p.Recommend(ctxT(t), Request{Surface: "home", GuestID: guest})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, it := range r.Items {
			if it.Components.Affinity > 0 {
				n++
			}
		}
		return n
	}
	if anon, guest := dairy(""), dairy("dairy-guest"); guest <= anon {
		t.Fatalf("dairy items: guest %d, anonymous %d", guest, anon)
	}
}

// TestImpressionLogged: the impression carries the response's id, items,
// sources and propensities.
func TestImpressionLogged(t *testing.T) {
	repo := testRepo(t)
	log := &MemoryEventLog{Cap: 10}
	p := New(repo.Manager, testSurfaces(t, nil), Options{Events: log})
	r, err := p.Recommend(ctxT(t), Request{Surface: "cart", GuestID: "g", SessionID: "s1", Cart: seedCart, K: 3})
	if err != nil {
		t.Fatal(err)
	}
	imps := log.Impressions()
	if len(imps) != 1 || imps[0].ID != r.ImpressionID || len(r.ImpressionID) != 32 || imps[0].SessionID != "s1" {
		t.Fatalf("impressions %+v, response id %q", imps, r.ImpressionID)
	}
	for i, it := range imps[0].Items {
		if it.ID != r.Items[i].ID || it.Position != i || it.Source != r.Items[i].Source || it.Propensity != 1 {
			t.Errorf("impression item %d %+v, response %+v", i, it, r.Items[i])
		}
	}
}

func TestRecommendBadRequests(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	long := make([]string, MaxCartItems+1)
	for _, tc := range []struct {
		req  Request
		err  error
		want string
	}{
		{Request{Surface: "checkout"}, ErrUnknownSurface, `"checkout" (surfaces: [cart home search])`},
		{Request{Surface: "cart", K: 51}, ErrInvalidRequest, "k 51 must be in [0, 50]"},
		{Request{Surface: "cart", K: -1}, ErrInvalidRequest, "k -1"},
		{Request{Surface: "cart", Cart: long}, ErrInvalidRequest, "201 cart items"},
		{Request{Surface: "search", Query: "\xff"}, ErrInvalidRequest, "not valid UTF-8"},
		{Request{Surface: "search", Query: strings.Repeat("a", MaxQueryBytes+1)}, ErrInvalidRequest, "query of 1025 bytes"},
	} {
		_, err := p.Recommend(ctxT(t), tc.req)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.req.Surface, err, tc.want)
		}
	}
	none := New(repo.Manager, &SurfaceStore{}, Options{})
	if _, err := none.Recommend(ctxT(t), Request{Surface: "cart"}); !errors.Is(err, ErrUnknownSurface) {
		t.Fatalf("no surfaces: %v", err)
	}
}

type failingText struct{ err error }

func (f failingText) Text(context.Context, string) (*TextScores, error) { return nil, f.err }

// textIndexOf is the TextIndex of a model's item table (names, level2 as
// the category), as aisle serve builds one from the catalogue.
func textIndexOf(t *testing.T, items *Items) *TextIndex {
	t.Helper()
	var ids, names, cats []string
	for r := range items.Len() {
		ids, names, cats = append(ids, items.ID(r)), append(names, items.Name(r)), append(cats, items.Attributes(r)["level2"])
	}
	x, err := NewTextIndex(ids, names, cats)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestQueryHybrid: a name the query shares a word with rises with the
// text signals; a failing Text leaves the encoder's index, flagged.
func TestQueryHybrid(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	v := repo.Version(t, "query-encoder")
	items, _ := repository.PipelineOf[*Items](v)
	req := Request{Surface: "search", Query: "white wine", K: 50}
	plain, err := p.Recommend(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	hybrid := New(repo.Manager, testSurfaces(t, nil), Options{Text: textIndexOf(t, items)})
	r, err := hybrid.Recommend(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if pos(r, "white wine") < 0 || pos(r, "white wine") > pos(plain, "white wine") && pos(plain, "white wine") >= 0 {
		t.Fatalf("white wine at %d hybrid, %d encoder only", pos(r, "white wine"), pos(plain, "white wine"))
	}
	down := New(repo.Manager, testSurfaces(t, nil), Options{Text: failingText{errors.New("bm25 down")}})
	r, err = down.Recommend(ctxT(t), req)
	if err != nil || len(r.Items) == 0 || !slices.Contains(rungs(r), "candidates/lexical_unavailable") {
		t.Fatalf("text down: %v %v", rungs(r), err)
	}
}

func pos(r *Response, name string) int {
	for i, it := range r.Items {
		if it.Name == name {
			return i
		}
	}
	return -1
}

// TestFiltersThroughPipeline: request category filters and a plugged-in
// catalogue's stock drive the answer.
func TestFiltersThroughPipeline(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, nil), Options{})
	r, err := p.Recommend(ctxT(t), Request{Surface: "home", Filters: Filters{Categories: []string{"cheese"}}, K: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Items) == 0 {
		t.Fatal("no cheese")
	}
	for _, it := range r.Items {
		if !strings.Contains(it.Name, "cheese") {
			t.Errorf("category filter let %s through", it.Name)
		}
	}
	r, err = p.Recommend(ctxT(t), Request{Surface: "cart", Cart: seedCart, Filters: Filters{ExcludeCategories: []string{"vegetables"}}})
	if err != nil {
		t.Fatal(err)
	}
	if pos(r, "other vegetables") >= 0 || pos(r, "root vegetables") >= 0 {
		t.Errorf("excluded category shown: %v", r.Items)
	}
	top := r.Items[0]
	cat := MapCatalog{top.ID: {"level2": "x", "stock": "0"}}
	withStock := New(repo.Manager, testSurfaces(t, nil), Options{Catalog: cat})
	r2, err := withStock.Recommend(ctxT(t), Request{Surface: "cart", Cart: seedCart, Filters: Filters{ExcludeCategories: []string{"vegetables"}}})
	if err != nil {
		t.Fatal(err)
	}
	if pos(r2, top.Name) >= 0 {
		t.Errorf("out-of-stock %s shown", top.Name)
	}
}

// TestPopularFollowsInCartFilter: the popular source and the back-fill
// drop cart items exactly when the surface's in_cart filter does, as the
// query and neighbour searches do. The surface has a popular source of
// budget 1, so the most popular item (in the cart) comes from the source
// and the second (in the cart too) from the back-fill; a margin puts the
// second right after the first, ahead of the back-fill's ties.
func TestPopularFollowsInCartFilter(t *testing.T) {
	repo := testRepo(t)
	for _, inCart := range []bool{false, true} {
		t.Run(fmt.Sprintf("in_cart=%v", inCart), func(t *testing.T) {
			surfaces := testSurfaces(t, func(s *Surfaces) {
				sf := *s.Surfaces["home"]
				sf.Sources = []Source{{Kind: SourcePopular, Model: "cart-gnn", Budget: 1, Weight: 1}}
				sf.Rerank = rerank.Config{Weights: rerank.Weights{Relevance: 1, Margin: 0.5}, Filters: rerank.Filters{InCart: inCart}, CategoryAttribute: "level2"}
				sf.Bandit = BanditConfig{}
				s.Surfaces["popular"] = &sf
			})
			vegetables := MapCatalog{"103": {"level2": "vegetables", "margin": "1"}} // other vegetables
			p := New(repo.Manager, surfaces, Options{Catalog: vegetables})
			r, err := p.Recommend(ctxT(t), Request{Surface: "popular", Cart: []string{"whole milk", "other vegetables"}, K: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Items) != 3 || !slices.Contains(rungs(r), "candidates/backfill") {
				t.Fatalf("%d items, want 3 with a back-fill: %v", len(r.Items), rungs(r))
			}
			source := func(name string) string {
				if i := pos(r, name); i >= 0 {
					return r.Items[i].Source
				}
				return ""
			}
			milk, veg := source("whole milk"), source("other vegetables")
			switch {
			case inCart && (milk != "" || veg != ""):
				t.Errorf("cart items shown though the surface filters them: %v", r.Items)
			case !inCart && (milk != SourcePopular || veg != "backfill"):
				t.Errorf("whole milk from %q, other vegetables from %q; want popular and backfill: %v", milk, veg, r.Items)
			}
		})
	}
}
