package recommend

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
)

// itemsCatalog serves a catalogue as the pipeline's Catalog and
// CatalogItems, with its stock among the attributes, as aisle serve's
// adapter does.
type itemsCatalog struct{ cat *catalog.Catalog }

func (c itemsCatalog) ItemAttributes(id string) (map[string]string, bool) {
	p, ok := c.cat.Item(id)
	if !ok {
		return nil, false
	}
	a := p.Attributes()
	a["stock"] = strconv.FormatInt(p.Stock, 10)
	return a, true
}

func (c itemsCatalog) Catalog() *catalog.Catalog { return c.cat }

// withNewItems is the home surface with one new_items source (budget 5)
// last, ranking by the catalogue's aisle.
func withNewItems(s *Surfaces) {
	withoutNewItems(s)
	sf := s.Surfaces["home"]
	sf.Sources = append(sf.Sources, Source{Kind: SourceNewItems, Model: "cart-gnn", Budget: 5, Weight: 1})
}

// withoutNewItems is the home surface without a new_items source, ranking
// by the catalogue's aisle.
func withoutNewItems(s *Surfaces) {
	sf := s.Surfaces["home"]
	sf.Rerank.CategoryAttribute = catalog.AttrAisle
	sf.Sources = slices.DeleteFunc(sf.Sources, func(src Source) bool { return src.Kind == SourceNewItems })
}

// newItemIDs returns the response's items among testdata/new_items.jsonl's,
// id → source.
func newItemIDs(r *Response) map[string]string {
	out := map[string]string{}
	for _, it := range r.Items {
		if len(it.ID) == 2 && it.ID[0] == 'n' {
			out[it.ID] = it.Source
		}
	}
	return out
}

// TestNewItemsSource: with the new items of testdata/new_items.jsonl in the
// catalogue, a home surface that lists a new_items source returns the new
// item nearest the cart (sparkling water, whose vector is bottled water's,
// for a cart of bottled beer and soda: at the top, its score above the
// model's best known item's) with source new_items, and only new items the
// rule reaches; without the source, no new item ever appears. The filters apply as for
// the other sources: an excluded, in-cart (named by the cart, which the
// model cannot read) or out-of-stock new item is not returned. An empty
// cart, a model that is not ready, or a catalogue that cannot hand over
// its items contributes nothing and fails nothing.
func TestNewItemsSource(t *testing.T) {
	repo := testRepo(t)
	cat := itemsCatalog{newItemsCatalog(t)}
	with := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: cat})
	without := New(repo.Manager, testSurfaces(t, withoutNewItems), Options{Catalog: cat})
	cart := []string{"bottled beer", "soda"}
	home := func(p *Pipeline, req Request) *Response {
		t.Helper()
		req.Surface, req.K = "home", 50
		r, err := p.Recommend(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// The embeddings stage starts the table's build and no call waits
	// for it: the calls after the build use it.
	served := servedItems(t, repo)
	if _, err := builtTable(t, served, cat, slog.Default()); err != nil {
		t.Fatal(err)
	}
	got := newItemIDs(home(with, Request{Cart: cart}))
	if got["n6"] != SourceNewItems {
		t.Fatalf("new items in the answer %v: want n6 (sparkling water) from new_items", got)
	}
	for id, src := range got {
		if src != SourceNewItems {
			t.Errorf("new item %s from source %s", id, src)
		}
		if id == "n4" || id == "n8" {
			t.Errorf("unreachable new item %s returned", id)
		}
	}
	if got := newItemIDs(home(without, Request{Cart: cart})); len(got) > 0 {
		t.Errorf("a surface without new_items returned new items %v", got)
	}

	for _, tc := range []struct {
		name string
		p    *Pipeline
		req  Request
	}{
		{"excluded", with, Request{Cart: cart, Filters: Filters{ExcludeIDs: []string{"n6"}}}},
		{"in the cart by name", with, Request{Cart: append(cart, "Sparkling Water")}},
		{"in the cart by id", with, Request{Cart: append(cart, "n6")}},
		{"out of stock", New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: itemsCatalog{outOfStock(t, "sparkling water")}}),
			Request{Cart: cart}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := builtTable(t, served, tc.p.opts.Catalog.(CatalogItems), slog.Default()); err != nil {
				t.Fatal(err)
			}
			if src, ok := newItemIDs(home(tc.p, tc.req))["n6"]; ok {
				t.Fatalf("n6 returned (source %s)", src)
			}
		})
	}

	t.Run("empty cart", func(t *testing.T) {
		r := home(with, Request{RecentViews: cart})
		if got := newItemIDs(r); len(got) > 0 {
			t.Errorf("new items %v without a cart", got)
		}
		if got := rungs(r); !slices.Equal(got, []string{"features/unknown_guest"}) {
			t.Errorf("rungs %v, want only features/unknown_guest (no guest id)", got)
		}
	})
	t.Run("model not ready", func(t *testing.T) {
		p := New(repo.Manager, testSurfaces(t, func(s *Surfaces) {
			withNewItems(s)
			srcs := s.Surfaces["home"].Sources
			srcs[len(srcs)-1].Model = "cart-gnn-v2"
		}), Options{Catalog: cat})
		r := home(p, Request{Cart: cart})
		if got := newItemIDs(r); len(got) > 0 || !slices.Contains(rungs(r), "embeddings/model_not_ready") {
			t.Errorf("new items %v, rungs %v", got, rungs(r))
		}
	})
	t.Run("no catalogue items", func(t *testing.T) {
		p := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: MapCatalog{}})
		r := home(p, Request{Cart: cart})
		if got := newItemIDs(r); len(got) > 0 || !slices.Equal(rungs(r), []string{"features/unknown_guest"}) {
			t.Errorf("new items %v, rungs %v; want none, and no rung but features/unknown_guest", got, rungs(r))
		}
	})
}

// outOfStock is newItemsCatalog with the named item's stock at 0.
func outOfStock(t *testing.T, name string) *catalog.Catalog {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range newItemsCatalog(t).All() {
		if p.Name == name {
			p.Stock = 0
		}
		buf.WriteString(productLine(p))
	}
	cat, err := catalog.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// productLine is p as a catalogue line (the fields these tests read).
func productLine(p catalog.Product) string {
	return `{"id":` + strconv.Quote(p.ID) + `,"name":` + strconv.Quote(p.Name) + `,"aisle":` + strconv.Quote(p.Aisle) +
		`,"department":` + strconv.Quote(p.Department) + `,"price":` + strconv.FormatFloat(p.Price, 'g', -1, 64) +
		`,"stock":` + strconv.FormatInt(p.Stock, 10) + "}\n"
}

// TestNewItemsOneModelRun: the new_items source reads the session
// embedding its model's session source computes: one Recommend call on a
// surface with both runs the cart model once, as without new_items, and
// the table is built once for the catalogue, not per call.
func TestNewItemsOneModelRun(t *testing.T) {
	repo := testRepo(t)
	cat := itemsCatalog{newItemsCatalog(t)}
	runs := func(p *Pipeline) uint64 {
		t.Helper()
		v, err := repo.Manager.Get("cart-gnn", "")
		if err != nil {
			t.Fatal(err)
		}
		defer v.Release()
		before := v.Stats().Success.Count
		if _, err := p.Recommend(ctxT(t), Request{Surface: "home", Cart: []string{"whole milk", "butter"}}); err != nil {
			t.Fatal(err)
		}
		return v.Stats().Success.Count - before
	}
	for _, newItemsFirst := range []bool{false, true} {
		p := New(repo.Manager, testSurfaces(t, func(s *Surfaces) {
			withNewItems(s)
			if src := s.Surfaces["home"].Sources; newItemsFirst {
				slices.Reverse(src)
			}
		}), Options{Catalog: cat})
		if n := runs(p); n != 1 {
			t.Errorf("new_items first %v: %d cart model runs, want 1", newItemsFirst, n)
		}
	}
	// The new_items source alone computes the embedding itself.
	alone := New(repo.Manager, testSurfaces(t, func(s *Surfaces) {
		withNewItems(s)
		s.Surfaces["home"].Sources = slices.DeleteFunc(s.Surfaces["home"].Sources, func(src Source) bool { return src.Kind == SourceSession })
	}), Options{Catalog: cat})
	if n := runs(alone); n != 1 {
		t.Errorf("new_items without a session source: %d cart model runs, want 1", n)
	}
	v, err := repo.Manager.Get("cart-gnn", "")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if it, ok := repository.PipelineOf[*Items](v); !ok || it.coldBuilds.Load() != 1 {
		t.Errorf("new-items tables built for one catalogue and version: %d, want 1", it.coldBuilds.Load())
	}
}

func TestRelevanceOn(t *testing.T) {
	ref := []Hit{{Score: 3}, {Score: 2}, {Score: 1}}
	for _, tc := range []struct {
		score float32
		want  float64
	}{{4, 0.5}, {3, 0.5}, {2, 0.25}, {1.5, 0.125}, {1, 0}, {-1, 0}} {
		if got := relevanceOn(ref, tc.score, 0.5); got != tc.want {
			t.Errorf("score %v: relevance %v, want %v", tc.score, got, tc.want)
		}
	}
	if got := relevanceOn([]Hit{{Score: 2}}, 1, 0.5); got != 0 {
		t.Errorf("one reference item above: %v, want 0", got)
	}
	if got := relevanceOn(nil, 1, 0.5); got != 0.5 {
		t.Errorf("no reference: %v, want the weight", got)
	}
}

// BenchmarkBuildNewItems builds the new_items table of the default
// repository's catalogue, without and with the 9 new items of
// testdata/new_items.jsonl (once per catalogue and model version).
func BenchmarkBuildNewItems(b *testing.B) {
	items, err := LoadItems(filepath.Join(servetest.Root(b), "models", "cart-gnn", "items"), nil)
	if err != nil {
		b.Fatal(err)
	}
	base, err := catalog.Load(filepath.Join(servetest.Root(b), "models", catalog.DefaultFile))
	if err != nil {
		b.Fatal(err)
	}
	added, err := os.ReadFile(filepath.Join("testdata", "new_items.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(servetest.Root(b), "models", catalog.DefaultFile))
	if err != nil {
		b.Fatal(err)
	}
	withNew, err := catalog.Parse(append(data, added...))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		cat  *catalog.Catalog
	}{{"default", base}, {"9_new", withNew}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				buildNewItems(bc.cat, items)
			}
		})
	}
}

// TestNewItemsSessionOnlyWhenNeeded: the embeddings stage computes the
// cart's session embedding for a new_items source only while its model's
// new-items table for the catalogue may hold an item (not built yet, or
// not empty): with the shipped catalogue, which has no new item, a home
// call with a cart stops asking the cart model for its session output
// once the table is built, and the blended session hits stand; with new
// items it keeps asking, whether the session source blends or is absent.
func TestNewItemsSessionOnlyWhenNeeded(t *testing.T) {
	shipped, err := catalog.Load(filepath.Join(servetest.Root(t), "models", catalog.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	cart := []string{"bottled beer", "soda"}
	// embed runs one call's embeddings stage: whether it computed the
	// session embedding, and whether the blended session hits are there.
	embed := func(p *Pipeline) (session, blended bool) {
		t.Helper()
		sf := p.surfaces.Get().Surfaces["home"]
		c := p.newCall(Request{Surface: "home", Cart: cart}, sf, sf.K)
		defer c.release()
		c.acquire(nil)
		c.resolve()
		var rungs []Rung
		c.embeddings(ctxT(t), &rungs)
		if len(rungs) > 0 {
			t.Errorf("rungs %v", rungs)
		}
		_, session = c.sessions["cart-gnn"]
		return session, len(c.blended) > 0
	}
	alone := func(s *Surfaces) {
		withNewItems(s)
		s.Surfaces["home"].Sources = slices.DeleteFunc(s.Surfaces["home"].Sources, func(src Source) bool { return src.Kind == SourceSession })
	}
	for _, tc := range []struct {
		name        string
		cat         *catalog.Catalog
		edit        func(*Surfaces)
		wantBlended bool
		wantAfter   bool // a session once the table is built
	}{
		{"shipped catalogue", shipped, withNewItems, true, false},
		{"shipped catalogue, no session source", shipped, alone, false, false},
		{"new items", newItemsCatalog(t), withNewItems, true, true},
		{"new items, no session source", newItemsCatalog(t), alone, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := testRepo(t) // its own: the table lives with the version
			p := New(repo.Manager, testSurfaces(t, tc.edit), Options{Catalog: itemsCatalog{tc.cat}})
			if session, blended := embed(p); !session || blended != tc.wantBlended {
				t.Errorf("before the table is built: session %v, blended hits %v; want true, %v", session, blended, tc.wantBlended)
			}
			if _, err := builtTable(t, servedItems(t, repo), itemsCatalog{tc.cat}, slog.Default()); err != nil {
				t.Fatal(err)
			}
			if session, blended := embed(p); session != tc.wantAfter || blended != tc.wantBlended {
				t.Errorf("once the table is built: session %v, blended hits %v; want %v, %v", session, blended, tc.wantAfter, tc.wantBlended)
			}
		})
	}
}

// TestNewItemsReferenceSkipsCart: the scale of the new_items source's
// relevance is the model's top known items for the session without the
// cart's own items, as the session source proposes them; the cart's items,
// nearest their own session, used to set its top (for this cart four of
// the five new items' relevances differed).
func TestNewItemsReferenceSkipsCart(t *testing.T) {
	repo := testRepo(t)
	cat := itemsCatalog{newItemsCatalog(t)}
	p := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: cat})
	sf := p.surfaces.Get().Surfaces["home"]
	c := p.newCall(Request{Surface: "home", Cart: []string{"whole milk", "butter"}}, sf, sf.K)
	defer c.release()
	c.acquire(nil)
	c.resolve()
	var rungs []Rung
	c.embeddings(ctxT(t), &rungs)
	m := c.models["cart-gnn"]
	src := sf.Sources[len(sf.Sources)-1]
	q := c.sessions["cart-gnn"]
	if src.Kind != SourceNewItems || q == nil || len(m.cartRows) != 2 {
		t.Fatalf("setup: source %s, session %v, cart rows %v", src.Kind, q != nil, m.cartRows)
	}
	tab, err := builtTable(t, m.items, cat, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	hits, err := c.newItems(ctxT(t), m, src)
	if err != nil || len(hits) == 0 {
		t.Fatalf("new_items: %v, %v", hits, err)
	}
	ref, err := m.items.Index().Search(ctxT(t), q, newItemsReference, func(r int) bool { return !m.cartSkip()[r] })
	if err != nil {
		t.Fatal(err)
	}
	all, err := tab.index.Search(ctxT(t), q, len(tab.ids), nil)
	if err != nil {
		t.Fatal(err)
	}
	score := map[string]float32{}
	for _, h := range all {
		score[tab.ids[h.Row]] = h.Score
	}
	for _, h := range hits {
		if want := relevanceOn(ref, score[h.id], src.Weight); h.score != want {
			t.Errorf("%s: relevance %v, want %v (the scale without the cart's items)", h.id, h.score, want)
		}
	}
}

// TestNewItemsCartEntries: a cart entry a model resolved is not matched
// by name against the new items too (a new item named like the known soda
// in the cart is still proposed), and a cart entry naming a new item is
// not reported unknown once the table holds it, even in a cart of new
// items only (no session embedding); an entry nothing knows still is.
func TestNewItemsCartEntries(t *testing.T) {
	repo := testRepo(t)
	var buf bytes.Buffer
	for _, p := range newItemsCatalog(t).All() {
		buf.WriteString(productLine(p))
	}
	buf.WriteString(`{"id":"n10","name":"soda","aisle":"non-alc. drinks","department":"drinks","price":1,"stock":10}` + "\n")
	parsed, err := catalog.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cat := itemsCatalog{parsed}
	if _, err := builtTable(t, servedItems(t, repo), cat, slog.Default()); err != nil {
		t.Fatal(err)
	}
	p := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: cat})
	r, err := p.Recommend(ctxT(t), Request{Surface: "home", K: 50, Cart: []string{"bottled beer", "soda", "Sparkling Water", "no such thing"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range r.Items {
		got[it.ID] = it.Source
	}
	if got["n10"] != SourceNewItems {
		t.Errorf("n10 (a new item named soda, like the known item in the cart): source %q, want new_items", got["n10"])
	}
	if _, ok := got["n6"]; ok {
		t.Error("n6 (sparkling water, in the cart by name) returned")
	}
	if !slices.Equal(r.Unknown, []string{"no such thing"}) {
		t.Errorf("unknown %q, want only the entry nothing knows", r.Unknown)
	}
	// A cart of new items only: the model knows none of them, so there is
	// no session embedding, but the entries are still known and in the
	// cart.
	r, err = p.Recommend(ctxT(t), Request{Surface: "home", K: 50, Cart: []string{"Sparkling Water", "n9", "no such thing"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range r.Items {
		if it.ID == "n6" || it.ID == "n9" {
			t.Errorf("%s (in a cart of new items only) returned", it.ID)
		}
	}
	if !slices.Equal(r.Unknown, []string{"no such thing"}) {
		t.Errorf("new items only: unknown %q, want only the entry nothing knows", r.Unknown)
	}
}

// TestNewItemsNoSessionModel: a new_items source naming a model that gives
// no session embedding (the query encoder) builds no new-items table for
// it: the embeddings stage flags the model and the source does nothing.
func TestNewItemsNoSessionModel(t *testing.T) {
	repo := testRepo(t)
	p := New(repo.Manager, testSurfaces(t, func(s *Surfaces) {
		withNewItems(s)
		srcs := s.Surfaces["home"].Sources
		srcs[len(srcs)-1].Model = "query-encoder"
	}), Options{Catalog: itemsCatalog{newItemsCatalog(t)}})
	r, err := p.Recommend(ctxT(t), Request{Surface: "home", Cart: []string{"bottled beer", "soda"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(rungs(r), "embeddings/not_a_session_model") {
		t.Errorf("rungs %v, want embeddings/not_a_session_model", rungs(r))
	}
	v, err := repo.Manager.Get("query-encoder", "")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if it, ok := repository.PipelineOf[*Items](v); !ok || it.coldBuilds.Load() != 0 || it.cold.Load() != nil {
		t.Errorf("query-encoder's items %v: %d new-items tables built, want none", ok, it.coldBuilds.Load())
	}
}
