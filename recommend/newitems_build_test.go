package recommend

import (
	"bytes"
	"errors"
	"log/slog"
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
	building := &newItemsEntry{cat: cat, done: make(chan struct{})} // being built, never finished
	items.cold.Store(building)
	// Items.Close waits for the build of the entry it finds: should the
	// test end before another catalogue replaces this one, the repository's
	// cleanup (registered before this one, so run after it) must not wait
	// for ever.
	t.Cleanup(func() { close(building.done) })
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

// TestNewItemsSupersededBuildStops: a build whose entry a catalogue swap
// replaced stops without a table or an error (the stale call reading it
// gets no new items) and is not counted as failed; the current entry's
// build runs to the end. A build superseded later, at any of its checks,
// stops too.
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
	// Every later check stops the build too: over more than
	// 2×buildCheckEvery new items, a build whose stop first says true at
	// its k-th check (in the pass over the catalogue or between the
	// rule's chunks) gives nothing.
	big := manyNewItems(t, items, 2*buildCheckEvery+10)
	checks := 0
	if tab, err := buildNewItemsUnless(big, items, func() bool { checks++; return false }); err != nil || tab.empty() {
		t.Fatalf("unstopped build: table %+v, err %v", tab, err)
	}
	if checks <= 2 {
		t.Fatalf("the unstopped build checked %d times, want more than 2", checks)
	}
	for k := 2; k <= checks; k++ {
		n := 0
		if tab, err := buildNewItemsUnless(big, items, func() bool { n++; return n >= k }); tab != nil || err != nil {
			t.Fatalf("stopped at check %d of %d: a table %v, err %v; want none", k, checks, tab != nil, err)
		}
	}
}

// manyNewItems is newItemsCatalog with n more new items, copies of its
// new ones under ids x0, x1, ...
func manyNewItems(t *testing.T, items *Items, n int) *catalog.Catalog {
	t.Helper()
	var buf bytes.Buffer
	var added []catalog.Product
	for _, p := range newItemsCatalog(t).All() {
		buf.WriteString(productLine(p))
		if _, ok := items.Row(p.ID); !ok {
			added = append(added, p)
		}
	}
	for i := range n {
		p := added[i%len(added)]
		p.ID = "x" + strconv.Itoa(i)
		buf.WriteString(productLine(p))
	}
	cat, err := catalog.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestNewItemsCloseWaitsForBuild: Items.Close supersedes a running
// new-items build and returns only once it has ended, so no build
// outlives its version.
func TestNewItemsCloseWaitsForBuild(t *testing.T) {
	items, err := LoadItems(filepath.Join(servetest.Root(t), "models", "cart-gnn", "items"), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, started := items.coldEntry(itemsCatalog{newItemsCatalog(t)}, slog.Default(),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "test_failures_total"}))
	if !started {
		t.Fatal("no build started")
	}
	if err := items.Close(); err != nil {
		t.Fatal(err)
	}
	if _, done, _ := e.ready(); !done || items.cold.Load() != nil {
		t.Fatalf("after Close: build done %v, entry %v; want done, none", done, items.cold.Load())
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
	cat := manyNewItems(t, items, 2*buildCheckEvery+10)
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
