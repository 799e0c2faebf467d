package recommend

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/internal/servetest"
	"github.com/aisle-ai/aisle/repository"
)

// reverseRows returns an item-embedding file (docs/CONVENTIONS.md: a
// 16-byte header, then rows of dim little-endian float32) with its rows in
// reverse order: the same vectors under other items, a retrain's stand-in.
func reverseRows(t *testing.T, data []byte) []byte {
	t.Helper()
	if len(data) < 16 || string(data[:8]) != "AISLEEMB" {
		t.Fatal("not an item-embedding file")
	}
	rows, dim := int(binary.LittleEndian.Uint32(data[8:])), int(binary.LittleEndian.Uint32(data[12:]))
	out := slices.Clone(data[:16])
	for r := rows - 1; r >= 0; r-- {
		out = append(out, data[16+r*dim*4:16+(r+1)*dim*4]...)
	}
	return out
}

// itemsVersion is a version of a copy of the default cart-gnn (its item
// files, no ONNX session) for ItemsExtension.Prepare.
func itemsVersion(t *testing.T, dir string, number int64) *repository.Version {
	t.Helper()
	return &repository.Version{Name: "cart-gnn", Number: number, Dir: dir,
		Config: &repository.Config{Parameters: map[string]string{"items": "items", "popular": "popular.tsv"}}}
}

// TestVersionItemsOverride: a version's own <version>/items.f32 replaces
// the model directory's for that version only; the item table and the
// popularity stay the model's; a version file of the wrong shape refuses
// the version.
func TestVersionItemsOverride(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(servetest.Root(t), "models", "cart-gnn")
	for _, f := range []string{"items.tsv", "items.f32", "popular.tsv"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Skipf("default cart-gnn: %v", err)
		}
		servetest.WriteFile(t, filepath.Join(dir, f), data)
	}
	shared, err := os.ReadFile(filepath.Join(dir, "items.f32"))
	if err != nil {
		t.Fatal(err)
	}
	servetest.WriteFile(t, filepath.Join(dir, "2", "items.f32"), reverseRows(t, shared))

	load := func(number int64) *Items {
		t.Helper()
		p, err := ItemsExtension{}.Prepare(itemsVersion(t, dir, number))
		if err != nil {
			t.Fatalf("v%d: %v", number, err)
		}
		return p.(*Items)
	}
	v1, v2 := load(1), load(2)
	n := v1.Len()
	if v2.Len() != n || v2.ID(0) != v1.ID(0) || v2.Name(n-1) != v1.Name(n-1) || len(v2.Popular()) != len(v1.Popular()) {
		t.Fatalf("v2's item table or popularity differs from the model's")
	}
	if !slices.Equal(v2.Vector(0), v1.Vector(n-1)) || !slices.Equal(v2.Vector(n-1), v1.Vector(0)) {
		t.Fatal("v2 does not use its own items.f32")
	}
	hit1, err := v1.Index().Search(ctxT(t), v1.Vector(0), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	hit2, err := v2.Index().Search(ctxT(t), v1.Vector(0), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if hit2[0].Row != n-1-hit1[0].Row {
		t.Fatalf("nearest to a query: v1 row %d, v2 row %d (want %d)", hit1[0].Row, hit2[0].Row, n-1-hit1[0].Row)
	}

	// One row short of the item table: refused, naming the mismatch.
	rows := binary.LittleEndian.Uint32(shared[8:])
	dim := int(binary.LittleEndian.Uint32(shared[12:]))
	short := slices.Clone(shared[:len(shared)-dim*4])
	binary.LittleEndian.PutUint32(short[8:], rows-1)
	servetest.WriteFile(t, filepath.Join(dir, "3", "items.f32"), short)
	if _, err := (ItemsExtension{}).Prepare(itemsVersion(t, dir, 3)); err == nil || !strings.Contains(err.Error(), "rows, item table") {
		t.Fatalf("short v3 items.f32: %v", err)
	}
}
