package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogRepo grows the shipped repository's catalogue to 400 items
// and reads back what `aisle serve` will load: an item table, vectors and
// a catalogue of 400 unique ids, unit vectors, variants named after their
// real item.
func TestCatalogRepo(t *testing.T) {
	base := filepath.Join("..", "..", "..", "models")
	dir, err := catalogRepo(base, t.TempDir(), 400)
	if err != nil {
		t.Fatal(err)
	}
	tsv, err := readTSV(filepath.Join(dir, "query-encoder", "items.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tsv) != 401 || tsv[0][0] != "id" {
		t.Fatalf("items.tsv: %d lines, header %v", len(tsv), tsv[0])
	}
	if tsv[170][0] != "169" || !strings.HasPrefix(tsv[170][1], tsv[1][1]+" ") {
		t.Errorf("variant row %v of %v", tsv[170], tsv[1])
	}
	m, err := readMatrix(filepath.Join(dir, "query-encoder", "items.f32"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 400 || m.Dim != 128 {
		t.Fatalf("items.f32: %dx%d", m.Rows, m.Dim)
	}
	for _, r := range []int{0, 169, 399} {
		var n float64
		for _, x := range m.Row(r) {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-3 {
			t.Errorf("row %d: squared norm %v", r, n)
		}
	}
	lines, err := readLines(filepath.Join(dir, catalogFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 401 || !strings.Contains(lines[0], `"catalog_version":"groceries-synthetic-400"`) {
		t.Fatalf("catalog.jsonl: %d lines, header %s", len(lines), lines[0])
	}
	ids := map[string]bool{}
	for _, l := range lines[1:] {
		var it struct{ ID, Name string }
		if err := json.Unmarshal([]byte(l), &it); err != nil || it.ID == "" || it.Name == "" || ids[it.ID] {
			t.Fatalf("catalogue line %s: %v", l, err)
		}
		ids[it.ID] = true
	}
}

func TestSelected(t *testing.T) {
	for _, c := range []struct {
		only, name string
		want       bool
	}{
		{"", "events-redis", true},
		{"events", "events", true},
		{"events", "events-redis", true},
		{"embed", "embed", true},
		{"embed,cart", "recommend-cart", false},
		{"catalog", "catalog-5000", true},
		{"seq-16", "seq-128", false},
		{"infer", "infer-gnn", true},
	} {
		if got := selected(c.only, c.name); got != c.want {
			t.Errorf("selected(%q, %q) = %v", c.only, c.name, got)
		}
	}
}
