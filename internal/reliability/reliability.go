// Package reliability lets a reliability test (failure isolation, hot
// reload under load, drain, hostile model files, fuzzing) leave a summary of
// what it held and what it lost: one JSON line appended to the file named by
// AISLE_RELIABILITY_OUT, nothing when that is unset. scripts/reliability.sh
// runs those tests with it set and ./internal/reliability/render turns the
// lines into RELIABILITY.md, so the figures there come from test runs, not
// from hand.
//
// A record is written when the test ends (tb.Cleanup), with whether it
// passed; counts are what the test itself counted.
package reliability

import (
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"
)

// Env names the file records are appended to.
const Env = "AISLE_RELIABILITY_OUT"

// Record is one test's summary. Counts the test does not measure stay 0.
type Record struct {
	// Test is the test's name (set by Write).
	Test string `json:"test"`
	// Package is the Go package of the test, e.g. "server".
	Package string `json:"package"`
	// Load describes the traffic held during the test.
	Load string `json:"load"`
	// Faults describes the faults injected (file swaps, hostile models,
	// shutdown).
	Faults string `json:"faults"`
	// BadInputs counts the bad requests or hostile inputs tried (fuzz:
	// every execution).
	BadInputs int64 `json:"bad_inputs"`
	// Calls counts the good calls made.
	Calls int64 `json:"calls"`
	// Failed counts unexpected outcomes: a good call that failed or a bad
	// input answered with the wrong status.
	Failed int64 `json:"failed"`
	// Lost counts data lost: accepted calls whose answer never came or was
	// wrong, or bytes a hostile input exposed.
	Lost int64 `json:"lost"`
	// Passed is whether the test passed (set by Write at the test's end).
	Passed bool `json:"passed"`
	// Short is whether the test ran under -short (smaller load).
	Short bool `json:"short"`
	// Time is when the record was written (UTC, RFC 3339).
	Time string `json:"time"`
}

// mu guards appends to the output file from parallel tests of one binary.
var mu sync.Mutex

// Write records r for tb when tb ends, if AISLE_RELIABILITY_OUT is set. A
// failure to write fails tb: a run meant to produce the report must not
// silently produce less.
func Write(tb testing.TB, r Record) {
	tb.Helper()
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	tb.Cleanup(func() {
		r.Test, r.Passed, r.Short = tb.Name(), !tb.Failed(), testing.Short()
		r.Time = time.Now().UTC().Format(time.RFC3339)
		if err := Append(path, r); err != nil {
			tb.Errorf("reliability record: %v", err)
		}
	})
}

// Append writes r as one JSON line at the end of path (created if needed).
// One write per line, on a file opened O_APPEND, so lines from several test
// binaries do not interleave.
func Append(path string, r Record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
