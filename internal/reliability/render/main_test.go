package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aisle-ai/aisle/internal/reliability"
)

// TestRender checks the last record of a test wins, every test gets a
// summary row and its own table, and a failed test shows as FAIL.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	for _, r := range []reliability.Record{
		{Test: "TestA", Package: "server", Calls: 1, Passed: true},
		{Test: "TestB", Package: "server", Load: "4 clients | loop", BadInputs: 7, Failed: 2},
		{Test: "TestA", Package: "server", Calls: 99, Passed: true},
	} {
		if err := reliability.Append(in, r); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "R.md")
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	for _, want := range []string{
		"| TestA | server | 0 | 99 | 0 | 0 | pass |",
		"| TestB | server | 7 | 0 | 2 | 0 | FAIL |",
		"### TestB (server)",
		`| Load held | 4 clients \| loop |`,
	} {
		if !strings.Contains(md, want) {
			t.Errorf("output lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "### TestA") != 1 {
		t.Errorf("TestA rendered more than once:\n%s", md)
	}
}
