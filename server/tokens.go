package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aisle-ai/aisle/filestamp"
)

// tokenCheckEvery is how often the token file is stat'ed at most: a
// rotated or revoked token takes effect within it. Checking on every call
// cost one stat under a mutex that every guarded call (with --auth-scoring,
// every call) queued on: BenchmarkTokenCheck (2 goroutines on a shared
// 2-core machine) went from 820–1260 to 195–300 ns a check, the rest being
// the SHA-256 of the token. A second is well inside the time an operator
// takes to rotate a token.
const tokenCheckEvery = time.Second

// tokenFile is a set of bearer tokens read from a file and reread when the
// file's stamp changes, looked at no more than once per tokenCheckEvery.
// Calls read the current snapshot with one atomic load and never wait on
// the file.
type tokenFile struct {
	path string
	log  *slog.Logger
	now  func() time.Time // time.Now; tests move it

	cur atomic.Pointer[tokenSnapshot]
	// checking is held by the one call that stats (and perhaps rereads)
	// the file when the snapshot is due; the others keep the snapshot they
	// loaded rather than wait. It guards no field: cur is atomic.
	checking sync.Mutex
}

// tokenSnapshot is one reading of the file; it is never modified.
type tokenSnapshot struct {
	stamp   filestamp.Stamp
	set     [][sha256.Size]byte
	checked time.Time // when stamp was last compared with the file's
}

func newTokenFile(path string, log *slog.Logger) (*tokenFile, error) {
	t := &tokenFile{path: path, log: log, now: time.Now}
	st, err := filestamp.Of(path)
	if err != nil {
		return nil, fmt.Errorf("auth token file: %w", err)
	}
	set, err := readTokens(path)
	if err != nil {
		return nil, fmt.Errorf("auth token file: %w", err)
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("auth token file %s holds no tokens", path)
	}
	t.cur.Store(&tokenSnapshot{stamp: st, set: set, checked: t.now()})
	return t, nil
}

// contains reports whether tok is one of the current tokens.
func (t *tokenFile) contains(tok string) bool {
	return containsHash(t.current(), hashToken(tok))
}

// current returns the tokens, first rereading the file if the snapshot is
// due and the file changed. A file that cannot be read (being replaced)
// keeps the previous tokens; a readable file with no tokens revokes them
// all.
func (t *tokenFile) current() [][sha256.Size]byte {
	s := t.cur.Load()
	now := t.now()
	if now.Sub(s.checked) < tokenCheckEvery || !t.checking.TryLock() {
		return s.set
	}
	defer t.checking.Unlock()
	if s = t.cur.Load(); now.Sub(s.checked) < tokenCheckEvery {
		return s.set // another call checked meanwhile
	}
	next := &tokenSnapshot{stamp: s.stamp, set: s.set, checked: now}
	if st, err := filestamp.Of(t.path); err == nil && st != s.stamp {
		if set, err := readTokens(t.path); err != nil {
			t.log.Warn("auth token file unreadable; keeping the previous tokens", "file", t.path, "err", err)
		} else {
			next.stamp, next.set = st, set
			t.log.Info("auth tokens reloaded", "file", t.path, "tokens", len(set))
		}
	}
	t.cur.Store(next)
	return next.set
}

// readTokens returns the digests of the file's tokens, one per non-blank,
// non-comment line.
func readTokens(path string) ([][sha256.Size]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set [][sha256.Size]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set = append(set, hashToken(line))
	}
	return set, sc.Err()
}
