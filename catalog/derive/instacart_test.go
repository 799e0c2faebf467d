package derive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aisle-ai/aisle/catalog"
)

// instacartDir is $AISLE_DATA/instacart, or ../shared/data/instacart beside
// the repository (where CI keeps it).
func instacartDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "instacart")
	if d := os.Getenv("AISLE_DATA"); d != "" {
		dir = filepath.Join(d, "instacart")
	}
	if _, err := os.Stat(filepath.Join(dir, "products.csv")); err != nil {
		t.Skipf("%s not found: Instacart data absent (set AISLE_DATA or put shared/ beside the repository)", dir)
	}
	return dir
}

// TestInstacart builds the Instacart catalogue from the real CSVs (nothing
// of it is written to the repository) and checks its invariants: every
// product present once with its aisle and department, and the file valid.
// (Determinism is the byte-for-byte test of the Groceries file; the rules
// are the same functions.)
func TestInstacart(t *testing.T) {
	dir := instacartDir(t)
	if testing.Short() {
		t.Skip("builds a 49,688-item catalogue")
	}
	items, err := Instacart(dir)
	if err != nil {
		t.Fatal(err)
	}
	var a bytes.Buffer
	if err := Write(&a, InstacartHeader, items); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse(a.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// 49,688 products, 134 aisles, 21 departments (PROVENANCE.md).
	if c.Len() != 49688 {
		t.Errorf("%d items, want 49688", c.Len())
	}
	aisles, depts := map[string]bool{}, map[string]bool{}
	var flavoured, sized, branded int
	for _, p := range c.All() {
		if p.Aisle == "" || p.Department == "" || p.Category != p.Aisle {
			t.Fatalf("item %s: aisle %q department %q category %q", p.ID, p.Aisle, p.Department, p.Category)
		}
		aisles[p.Aisle], depts[p.Department] = true, true
		flavoured += btoi(p.Flavour != "")
		sized += btoi(p.Size != "")
		branded += btoi(p.Brand != "")
	}
	if len(aisles) != 134 || len(depts) != 21 {
		t.Errorf("%d aisles, %d departments", len(aisles), len(depts))
	}
	t.Logf("derived: flavour %d, size %d, brand %d of %d", flavoured, sized, branded, c.Len())
	if flavoured == 0 || sized == 0 || branded == 0 {
		t.Error("a derived column is empty everywhere")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
