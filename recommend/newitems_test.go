package recommend

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/coldstart"
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

// buildNewItems is buildNewItemsUnless run to the end, for the tests and
// the benchmark; a build error fails the test.
func buildNewItems(cat *catalog.Catalog, it *Items) *newItems {
	t, err := buildNewItemsUnless(cat, it, func() bool { return false })
	if err != nil {
		panic(err)
	}
	return t
}

// builtTable is the new-items table of cats' catalogue for items once
// its build is done (starting it when none is): what the candidates
// stage reads from the calls after the one that started it. nil, nil for
// a catalogue swapped as it was read.
func builtTable(t *testing.T, items *Items, cats CatalogItems, log *slog.Logger) (*newItems, error) {
	t.Helper()
	e, _ := items.coldEntry(cats, log, prometheus.NewCounter(prometheus.CounterOpts{Name: "test_failures_total"}))
	if e == nil {
		return nil, nil
	}
	select {
	case <-e.done:
		return e.table, e.err
	case <-ctxT(t).Done():
		t.Fatal("the new-items table's build did not end")
		return nil, nil
	}
}

// servedItems is the Items of repo's cart-gnn version.
func servedItems(t *testing.T, repo *servetest.Repo) *Items {
	t.Helper()
	v, err := repo.Manager.Get("cart-gnn", "")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	it, ok := repository.PipelineOf[*Items](v)
	if !ok {
		t.Fatal("cart-gnn has no items")
	}
	return it
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

// TestNewItemsBuildNotWaited: a call that finds the table of its
// catalogue still being built does not wait for it: it is answered at
// once, without new items and without a rung of new_items, the
// candidates stage's budget left to the other sources. A call for another
// catalogue starts that one's build, which completes for the calls that
// follow, without a second one.
func TestNewItemsBuildNotWaited(t *testing.T) {
	repo := testRepo(t)
	items := servedItems(t, repo)
	cat := newItemsCatalog(t)
	items.cold.Store(&newItemsEntry{cat: cat, done: make(chan struct{})}) // being built, never finished
	p := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: itemsCatalog{cat}})
	r, err := p.Recommend(ctxT(t), Request{Surface: "home", Cart: []string{"bottled beer", "soda"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := newItemIDs(r); len(r.Items) == 0 || len(got) > 0 || slices.ContainsFunc(rungs(r), func(s string) bool { return strings.Contains(s, "new_items") }) {
		t.Fatalf("%d items, new items %v, rungs %v; want an answer without new items or a new_items rung", len(r.Items), got, rungs(r))
	}
	other := catalog.Empty()
	tab, err := builtTable(t, items, itemsCatalog{other}, slog.Default())
	if e := items.cold.Load(); err != nil || e.cat != other || tab != e.table || !tab.empty() || items.coldBuilds.Load() != 1 {
		t.Fatalf("another catalogue: table %+v, err %v, builds %d", tab, err, items.coldBuilds.Load())
	}
	if e, started := items.coldEntry(itemsCatalog{other}, slog.Default(), nil); started || e != items.cold.Load() {
		t.Fatalf("the built catalogue again: started %v", started)
	}
}

// TestNewItemsFailedBuild: a build that panics (here: item vectors missing
// their data) still ends the wait of every call, the one that started it
// and the later ones, with no table and errNewItemsBuild (which the
// source turns into the rung candidates/new_items_unavailable), and is
// not retried for the same catalogue; a served call with a cart answers
// with that rung.
func TestNewItemsFailedBuild(t *testing.T) {
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	items.vectors = &catalog.Matrix{Rows: items.vectors.Rows, Dim: items.vectors.Dim} // no data: the rule's mean panics
	cat := newItemsCatalog(t)
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_failures_total"})
	for i := range 3 {
		e, _ := items.coldEntry(itemsCatalog{cat}, log, failures)
		<-e.done
		if tab, err := e.table, e.err; !errors.Is(err, errNewItemsBuild) || !tab.empty() {
			t.Fatalf("call %d: table %+v, err %v; want no table and errNewItemsBuild", i, tab, err)
		}
	}
	if b, f := items.coldBuilds.Load(), testutil.ToFloat64(failures); b != 1 || f != 1 {
		t.Errorf("%d builds, %v failed; want 1 and 1", b, f)
	}
	if !strings.Contains(logged.String(), "new-items table failed") {
		t.Errorf("log %q does not report the failed build", logged.String())
	}

	// Served: every call with a cart answers, with the rung, also once
	// the embeddings stage stops asking for the session.
	repo := testRepo(t)
	v, err := repo.Manager.Get("cart-gnn", "")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	served, _ := repository.PipelineOf[*Items](v)
	served.vectors = &catalog.Matrix{Rows: served.vectors.Rows, Dim: served.vectors.Dim} // the index keeps the real ones
	reg := prometheus.NewRegistry()
	p := New(repo.Manager, testSurfaces(t, withNewItems), Options{Catalog: itemsCatalog{cat}, Logger: log, Registerer: reg})
	// The first call starts the build and does not wait for it.
	if _, err := p.Recommend(ctxT(t), Request{Surface: "home", Cart: []string{"bottled beer", "soda"}}); err != nil {
		t.Fatal(err)
	}
	<-served.cold.Load().done
	for i := range 2 {
		r, err := p.Recommend(ctxT(t), Request{Surface: "home", Cart: []string{"bottled beer", "soda"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Items) == 0 || !slices.Contains(rungs(r), "candidates/new_items_unavailable") {
			t.Errorf("call %d: %d items, rungs %v; want an answer with candidates/new_items_unavailable", i, len(r.Items), rungs(r))
		}
	}
	if b, f := served.coldBuilds.Load(), testutil.ToFloat64(p.metrics.newItemsFailures); b != 1 || f != 1 {
		t.Errorf("served: %d builds, %v failed; want 1 and 1", b, f)
	}
	if n, err := testutil.GatherAndCount(reg, "aisle_recommend_new_items_build_failures_total"); err != nil || n != 1 {
		t.Errorf("aisle_recommend_new_items_build_failures_total: %d series (%v), want it registered", n, err)
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

// swappedCatalog is a CatalogItems whose catalogue is swapped after the
// first read: Catalog returns cats[0] once, then cats[1]. A test's calls
// are sequential.
type swappedCatalog struct {
	cats  [2]*catalog.Catalog
	reads int
}

func (c *swappedCatalog) Catalog() *catalog.Catalog {
	c.reads++
	return c.cats[min(c.reads-1, 1)]
}

// TestNewItemsStaleCatalogue: a call that read the catalogue before a
// swap, and finds the table of the newer one in place, gets no table and
// leaves that one in place (no build); a call that reads the current
// catalogue uses its table.
func TestNewItemsStaleCatalogue(t *testing.T) {
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	old, cur := catalog.Empty(), newItemsCatalog(t)
	want, err := builtTable(t, items, itemsCatalog{cur}, slog.Default())
	if err != nil || want.empty() {
		t.Fatalf("the current catalogue's table: %+v, %v", want, err)
	}
	tab, err := builtTable(t, items, &swappedCatalog{cats: [2]*catalog.Catalog{old, cur}}, slog.Default())
	if err != nil || tab != nil {
		t.Fatalf("a call holding the old catalogue: table %+v, err %v; want none", tab, err)
	}
	if e := items.cold.Load(); e.cat != cur || e.table != want || items.coldBuilds.Load() != 1 {
		t.Fatalf("after the stale call: the entry is for the current catalogue %v, its table kept %v, builds %d (want 1)",
			e.cat == cur, e.table == want, items.coldBuilds.Load())
	}
	if tab, err := builtTable(t, items, itemsCatalog{cur}, slog.Default()); err != nil || tab != want {
		t.Fatalf("the current catalogue again: %+v, %v", tab, err)
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
// not reported unknown once the table holds it; an entry nothing knows
// still is.
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

// TestNewItemsSupersededBuildStops: a build whose entry a catalogue swap
// replaced stops without a table or an error (the stale call reading it
// gets no new items) and is not counted as failed; the current entry's
// build runs to the end.
func TestNewItemsSupersededBuildStops(t *testing.T) {
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := newItemsCatalog(t)
	old := &newItemsEntry{cat: cat, done: make(chan struct{})}
	cur := &newItemsEntry{cat: cat, done: make(chan struct{})}
	items.cold.Store(cur)
	failures := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_failures_total"})
	items.buildEntry(old, slog.Default(), failures)
	if tab, done, err := old.ready(); !done || tab != nil || err != nil || testutil.ToFloat64(failures) != 0 {
		t.Fatalf("superseded build: done %v, table %+v, err %v, failures %v; want done, no table, no error, none",
			done, tab, err, testutil.ToFloat64(failures))
	}
	items.buildEntry(cur, slog.Default(), failures)
	if tab, done, err := cur.ready(); !done || tab.empty() || err != nil {
		t.Fatalf("current build: done %v, table %+v, err %v", done, tab, err)
	}
}

// TestNewItemsChunkedBuild: a build of more than buildCheckEvery new items
// (applying the rule in chunks) gives the vectors of one coldstart.Vectors
// call over them all, bit for bit.
func TestNewItemsChunkedBuild(t *testing.T) {
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var added []catalog.Product
	for _, p := range newItemsCatalog(t).All() {
		buf.WriteString(productLine(p))
		if _, ok := items.Row(p.ID); !ok {
			added = append(added, p)
		}
	}
	for i := range 2*buildCheckEvery + 10 {
		p := added[i%len(added)]
		p.ID = "x" + strconv.Itoa(i)
		buf.WriteString(productLine(p))
	}
	cat, err := catalog.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tab := buildNewItems(cat, items)
	var cands []coldstart.Item
	for _, p := range cat.All() {
		if _, ok := items.Row(p.ID); !ok {
			cands = append(cands, coldstart.Item{Name: p.Name, Aisle: p.Aisle, Department: p.Department})
		}
	}
	known := make([]coldstart.Item, items.Len())
	for r := range known {
		p, _ := cat.Item(items.ID(r))
		known[r] = coldstart.Item{Name: p.Name, Aisle: p.Aisle, Department: p.Department}
	}
	vecs, ok := coldstart.Vectors(coldstart.NewKnown(known), items.vectors.Data, items.vectors.Dim, cands)
	var want []float32
	for j := range cands {
		if ok[j] {
			want = append(want, vecs[j*items.vectors.Dim:(j+1)*items.vectors.Dim]...)
		}
	}
	if len(tab.ids) <= buildCheckEvery || !slices.Equal(tab.index.m.Data, want) {
		t.Fatalf("%d new items: the chunked build's vectors differ from one pass's", len(tab.ids))
	}
}
