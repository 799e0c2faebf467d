package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestInstacartShortHeader: a catalogue file with fewer columns than the
// reader indexes is refused with its name, not a panic (index out of range).
func TestInstacartShortHeader(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"aisles.csv":      "aisle_id,aisle\n1,fresh fruits\n",
		"departments.csv": "department_id,department\n1,produce\n",
		"products.csv":    "product_id,product_name\n1,banana\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := instacartLongTerm(dir, time.Now(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), "products.csv line 1: 2 columns, want 4") {
		t.Fatalf("err = %v; want products.csv refused for its columns", err)
	}
}
