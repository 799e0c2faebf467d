package recommend

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/repository"
)

// Items is the item space one model version ships: its item table
// (<items>.tsv, row r = model item r), the item embeddings (<items>.f32) and
// an Index over them. It is loaded, swapped and drained with the version.
type Items struct {
	table *catalog.Table
	ids   []string // catalogue ids as strings, by row
	byID  map[string]int
	index Index
	// attrs[r] holds row r's extra item-table columns (category levels,
	// counts) by header name: the attribute stand-in until a catalogue is
	// plugged in.
	attrs []map[string]string
	// vectors are the item embeddings the index was built from.
	vectors *catalog.Matrix
	// popular lists rows most popular first; popularity[r] is row r's
	// popularity in [0, 1] (1 = most popular, 0 = unranked).
	popular    []int
	popularity []float64

	// cold is the new_items source's table for the catalogue last asked
	// for (newitems.go); coldMu guards replacing it (the check and the
	// store), not reading it. coldBuilds counts the builds started, for
	// tests only (the failures are a metric:
	// aisle_recommend_new_items_build_failures_total).
	cold       atomic.Pointer[newItemsEntry]
	coldMu     sync.Mutex
	coldBuilds atomic.Int64

	// load numbers this table among every table loaded in the process
	// (itemLoads): the merged-attribute cache keys on it, because a
	// version replaced in place keeps its number but not its table.
	load uint64
}

// itemLoads counts the item tables loaded, for Items.load.
var itemLoads atomic.Uint64

// ItemsExtensionName names ItemsExtension in a repository's extensions.
const ItemsExtensionName = "items"

// ItemsExtension attaches an Items pipeline to every version whose
// parameters name an item table with "items".
type ItemsExtension struct {
	// NewIndex builds the index; nil means NewFlatIndex.
	NewIndex NewIndex
}

// Parameters implements repository.Extension: "items" names the table and
// embeddings, "popular" an optional popularity table (most popular first).
func (ItemsExtension) Parameters() []string { return []string{"items", "popular"} }

// Prepare implements repository.Extension. The embeddings are the
// version's own <version>/<items>.f32 when it ships one (a retrained model
// moves its item vectors with its weights), else the model directory's
// <items>.f32; the item table and the popularity table are the model's
// (its item vocabulary, fixed by the model's num_items).
func (x ItemsExtension) Prepare(v *repository.Version) (repository.Pipeline, error) {
	name := strings.TrimSpace(v.Config.Parameters["items"])
	if name == "" {
		return nil, nil
	}
	prefix := filepath.Join(v.Dir, filepath.Base(name))
	vectors := prefix + ".f32"
	own := filepath.Join(v.Dir, strconv.FormatInt(v.Number, 10), filepath.Base(name)+".f32")
	if fi, err := os.Stat(own); err == nil && fi.Mode().IsRegular() {
		vectors = own
	}
	it, err := loadItems(prefix+".tsv", vectors, x.NewIndex)
	if err != nil {
		return nil, err
	}
	if pop := strings.TrimSpace(v.Config.Parameters["popular"]); pop != "" {
		if err := it.readPopular(filepath.Join(v.Dir, filepath.Base(pop))); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// LoadItems reads <prefix>.tsv and <prefix>.f32 and indexes the vectors.
func LoadItems(prefix string, newIndex NewIndex) (*Items, error) {
	return loadItems(prefix+".tsv", prefix+".f32", newIndex)
}

// loadItems reads an item table and its embeddings and indexes the vectors.
func loadItems(table, vectors string, newIndex NewIndex) (*Items, error) {
	t, err := catalog.ReadTable(table)
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	m, err := catalog.ReadMatrix(vectors)
	if err != nil {
		return nil, fmt.Errorf("item embeddings: %w", err)
	}
	if m.Rows != len(t.Items) {
		return nil, fmt.Errorf("item embeddings have %d rows, item table %d items", m.Rows, len(t.Items))
	}
	if newIndex == nil {
		newIndex = NewFlatIndex
	}
	idx, err := newIndex(m)
	if err != nil {
		return nil, fmt.Errorf("item index: %w", err)
	}
	it := &Items{load: itemLoads.Add(1), table: t, ids: make([]string, len(t.Items)), byID: map[string]int{}, index: idx,
		vectors: m, popularity: make([]float64, len(t.Items))}
	for r, item := range t.Items {
		it.ids[r] = strconv.FormatInt(item.ID, 10)
		it.byID[it.ids[r]] = r
	}
	if it.attrs, err = readAttrs(table, len(t.Items)); err != nil {
		return nil, err
	}
	return it, nil
}

// readPopular reads a popularity table (id, name, ...; most popular first);
// ids not in the item table are skipped.
func (it *Items) readPopular(path string) error {
	t, err := catalog.ReadTable(path)
	if err != nil {
		return fmt.Errorf("popular items: %w", err)
	}
	it.popular = it.popular[:0]
	for _, item := range t.Items {
		if r, ok := it.byID[strconv.FormatInt(item.ID, 10)]; ok {
			it.popular = append(it.popular, r)
		}
	}
	n := float64(len(it.popular))
	for rank, r := range it.popular {
		it.popularity[r] = 1 - float64(rank)/n
	}
	return nil
}

// Popular returns the rows most popular first (empty when the version
// ships no popularity table). The slice is shared: do not modify it.
func (it *Items) Popular() []int { return it.popular }

// Popularity returns row r's popularity in [0, 1].
func (it *Items) Popularity(r int) float64 { return it.popularity[r] }

// Vector returns row r's embedding. The slice is shared: do not modify it.
func (it *Items) Vector(r int) []float32 { return it.vectors.Row(r) }

// readAttrs reads the columns after id and name of an item table, by
// header name; ReadTable has already checked the file's shape.
func readAttrs(path string, rows int) ([]map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	header := strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
	attrs := make([]map[string]string, rows)
	for r := range rows {
		if r+1 >= len(lines) {
			return nil, fmt.Errorf("item table %s: %d lines for %d items", path, len(lines)-1, rows)
		}
		cols := strings.Split(strings.TrimRight(lines[r+1], "\r"), "\t")
		m := map[string]string{}
		for c := 2; c < len(header) && c < len(cols); c++ {
			m[header[c]] = cols[c]
		}
		attrs[r] = m
	}
	return attrs, nil
}

// Attributes returns row r's extra item-table columns; the map is shared.
func (it *Items) Attributes(r int) map[string]string { return it.attrs[r] }

// Close implements repository.Pipeline; an index with a Close method is
// closed. A new-items build still running is first superseded and waited
// for: without that it could outlive its version (its stop check only saw
// catalogue swaps), reading item vectors whose version is gone. Emptying
// it.cold makes the build's stop check true, so it ends within
// buildCheckEvery items.
func (it *Items) Close() error {
	if e := it.cold.Swap(nil); e != nil {
		<-e.done
	}
	if c, ok := it.index.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Len returns the number of items.
func (it *Items) Len() int { return len(it.ids) }

// ID returns the catalogue id of row r.
func (it *Items) ID(r int) string { return it.ids[r] }

// Name returns the display name of row r.
func (it *Items) Name(r int) string { return it.table.Items[r].Name }

// Row returns the row of a catalogue id.
func (it *Items) Row(id string) (int, bool) {
	r, ok := it.byID[id]
	return r, ok
}

// RowOfName returns the row of an item name, ignoring case.
func (it *Items) RowOfName(name string) (int, bool) { return it.table.RowOfName(name) }

// Index returns the index over the item embeddings.
func (it *Items) Index() Index { return it.index }
