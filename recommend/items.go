package recommend

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

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
}

// ItemsExtensionName names ItemsExtension in a repository's extensions.
const ItemsExtensionName = "items"

// ItemsExtension attaches an Items pipeline to every version whose
// parameters name an item table with "items".
type ItemsExtension struct {
	// NewIndex builds the index; nil means NewFlatIndex.
	NewIndex NewIndex
}

// Parameters implements repository.Extension.
func (ItemsExtension) Parameters() []string { return []string{"items"} }

// Prepare implements repository.Extension.
func (x ItemsExtension) Prepare(v *repository.Version) (repository.Pipeline, error) {
	name := strings.TrimSpace(v.Config.Parameters["items"])
	if name == "" {
		return nil, nil
	}
	prefix := filepath.Join(v.Dir, filepath.Base(name))
	it, err := LoadItems(prefix, x.NewIndex)
	if err != nil {
		return nil, err
	}
	return it, nil
}

// LoadItems reads <prefix>.tsv and <prefix>.f32 and indexes the vectors.
func LoadItems(prefix string, newIndex NewIndex) (*Items, error) {
	t, err := catalog.ReadTable(prefix + ".tsv")
	if err != nil {
		return nil, fmt.Errorf("item table: %w", err)
	}
	m, err := catalog.ReadMatrix(prefix + ".f32")
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
	it := &Items{table: t, ids: make([]string, len(t.Items)), byID: map[string]int{}, index: idx}
	for r, item := range t.Items {
		it.ids[r] = strconv.FormatInt(item.ID, 10)
		it.byID[it.ids[r]] = r
	}
	return it, nil
}

// Close implements repository.Pipeline; an index with a Close method is
// closed.
func (it *Items) Close() error {
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
