package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrite checks a record lands, at the test's end, as one JSON line
// carrying the test's name and outcome, and that nothing is written when
// the variable is unset.
func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	t.Setenv(Env, path)
	t.Run("held", func(t *testing.T) {
		Write(t, Record{Package: "x", Load: "2 clients", Calls: 10, BadInputs: 3})
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatal("record written before the test ended")
		}
	})
	t.Setenv(Env, "")
	t.Run("unset", func(t *testing.T) { Write(t, Record{Package: "y"}) })
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one record, got %q", data)
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Test != "TestWrite/held" || !r.Passed || r.Calls != 10 || r.BadInputs != 3 || r.Time == "" {
		t.Fatalf("record %+v", r)
	}
}
