package server

import (
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// skewClock is time.Now moved forward by the test, safe to read from the
// server's goroutines.
type skewClock struct{ skew atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.skew.Load())) }
func (c *skewClock) advance(d time.Duration) { c.skew.Add(int64(d)) }

// TestTokenRotation: the token file is looked at no more than once per
// tokenCheckEvery. A rotation takes effect at the first check after it:
// the new token is accepted and the old refused; a file that holds no
// token revokes all; a missing file (being replaced) keeps the tokens.
func TestTokenRotation(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "tokens", []byte("old\n"), 0)
	tf, err := newTokenFile(file, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	clk := &skewClock{}
	tf.now = clk.now
	want := func(what string, tok string, ok bool) {
		t.Helper()
		if got := tf.contains(tok); got != ok {
			t.Fatalf("%s: token %q accepted = %v, want %v", what, tok, got, ok)
		}
	}
	want("start", "old", true)
	writeFile(t, dir, "tokens", []byte("new\n"), time.Hour)
	want("before the next check", "old", true)
	want("before the next check", "new", false)
	clk.advance(tokenCheckEvery)
	want("after rotation", "new", true)
	want("after rotation", "old", false)

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	clk.advance(tokenCheckEvery)
	want("file missing", "new", true)
	writeFile(t, dir, "tokens", []byte("# none\n"), 2*time.Hour)
	clk.advance(tokenCheckEvery)
	want("empty file", "new", false)
}

// BenchmarkTokenCheck: a guarded call's token check, from many goroutines
// at once.
func BenchmarkTokenCheck(b *testing.B) {
	tf, err := newTokenFile(writeFile(b, b.TempDir(), "tokens", []byte("tok\n"), 0), discardLog())
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !tf.contains("tok") {
				b.Fatal("token refused")
			}
		}
	})
}
