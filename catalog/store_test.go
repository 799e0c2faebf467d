package catalog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// writeAt writes a file with an explicit modification time, so the test
// controls the stamps the store compares instead of the clock's resolution.
func writeAt(t *testing.T, path, body string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func line(id, name string) string {
	return `{"id":"` + id + `","name":"` + name + `","price":1,"stock":1}` + "\n"
}

func quietStore(t *testing.T, path string, reg prometheus.Registerer) *Store {
	t.Helper()
	s, err := Open(StoreOptions{Path: path, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFile)
	t0 := time.Unix(1_700_000_000, 0)
	writeAt(t, path, `{"catalog_version":"v1"}`+"\n"+line("1", "milk"), t0)
	reg := prometheus.NewRegistry()
	s := quietStore(t, path, reg)
	if v, h := s.Version(); v != "v1" || h == "" {
		t.Fatalf("Version = %q, %q", v, h)
	}
	if s.Check() {
		t.Error("unchanged file reloaded")
	}

	// A change is loaded only once it has held still for one poll.
	writeAt(t, path, `{"catalog_version":"v2"}`+"\n"+line("1", "milk")+line("2", "eggs"), t0.Add(time.Second))
	if s.Check() {
		t.Error("file loaded on the poll that first saw it change")
	}
	if !s.Check() {
		t.Fatal("settled file not loaded")
	}
	if v, _ := s.Version(); v != "v2" || s.Catalog().Len() != 2 {
		t.Fatalf("after reload: version %q, %d items", v, s.Catalog().Len())
	}
	if _, ok := s.Item("2"); !ok {
		t.Error("new item missing")
	}

	// A bad file keeps the old catalogue serving, is reported once, and is
	// not re-parsed on every poll.
	writeAt(t, path, line("1", "milk")+`{"id":"3","name":"x","price":1,"stock":1,"colour":"red"}`+"\n", t0.Add(2*time.Second))
	s.Check()
	s.Check()
	s.Check()
	if v, _ := s.Version(); v != "v2" {
		t.Fatalf("bad file replaced the catalogue: %q", v)
	}
	if err := s.LastError(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `line 2: unknown field "colour"`) {
		t.Errorf("LastError = %v", err)
	}
	if n := testutil.ToFloat64(s.reloads.WithLabelValues("error")); n != 1 {
		t.Errorf("error reloads = %v, want 1", n)
	}

	// A deleted file keeps the catalogue; a fixed one replaces it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s.Check()
	if s.Catalog().Len() != 2 {
		t.Fatal("deleted file dropped the catalogue")
	}
	writeAt(t, path, line("9", "sugar"), t0.Add(3*time.Second))
	s.Check()
	if !s.Check() || s.LastError() != nil {
		t.Fatalf("fixed file not loaded: %v", s.LastError())
	}
	if _, ok := s.Item("9"); !ok || s.Catalog().Len() != 1 {
		t.Error("fixed file not served")
	}
	if n := testutil.ToFloat64(s.items); n != 1 {
		t.Errorf("aisle_catalog_items = %v", n)
	}
	if n := testutil.ToFloat64(s.reloads.WithLabelValues("ok")); n != 2 {
		t.Errorf("ok reloads = %v, want 2", n)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(StoreOptions{}); err == nil {
		t.Error("no path accepted")
	}
	if _, err := Open(StoreOptions{Path: filepath.Join(dir, "missing.jsonl")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	writeAt(t, bad, `{"id":"1"}`, time.Unix(1_700_000_000, 0))
	if _, err := Open(StoreOptions{Path: bad}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "bad.jsonl: invalid catalogue: line 1") {
		t.Errorf("bad file: %v", err)
	}
}

// TestRunSwapsUnderReaders runs the poll loop with readers racing the swap
// (meaningful under -race) and stops it through its context.
func TestRunSwapsUnderReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFile)
	t0 := time.Unix(1_700_000_000, 0)
	writeAt(t, path, line("1", "milk"), t0)
	s, err := Open(StoreOptions{Path: path, Interval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	writeAt(t, path, line("1", "milk")+line("2", "eggs"), t0.Add(time.Second))
	for s.Catalog().Len() != 2 {
		if ctx.Err() != nil {
			t.Fatal("reload never happened")
		}
		if _, ok := s.ItemAttributes("1"); !ok {
			t.Fatal("item 1 vanished during the swap")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestStatic(t *testing.T) {
	c, err := Parse([]byte(line("1", "milk")))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStatic(c)
	if s.Check() {
		t.Error("static store reloaded")
	}
	if e := NewStatic(Empty()); e.Catalog().Len() != 0 {
		t.Error("Empty has items")
	} else if _, ok := e.ItemAttributes("1"); ok {
		t.Error("Empty has attributes")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Run(ctx); err != nil || s.Catalog() != c {
		t.Errorf("Run = %v", err)
	}
}
