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

	"github.com/aisle-ai/aisle/filestamp"
)

// tokenFile is a set of bearer tokens read from a file and reread when the
// file's stamp changes. Checking costs one stat per call (about a
// microsecond), small next to any call it guards.
type tokenFile struct {
	path string
	log  *slog.Logger

	mu    sync.Mutex // guards stamp and set
	stamp filestamp.Stamp
	set   [][sha256.Size]byte
}

func newTokenFile(path string, log *slog.Logger) (*tokenFile, error) {
	t := &tokenFile{path: path, log: log}
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
	t.stamp, t.set = st, set
	return t, nil
}

// contains reports whether tok is one of the current tokens.
func (t *tokenFile) contains(tok string) bool {
	return containsHash(t.current(), hashToken(tok))
}

// current rereads the file when it changed. A file that cannot be read
// (being replaced) keeps the previous tokens; a readable file with no
// tokens revokes them all.
func (t *tokenFile) current() [][sha256.Size]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, err := filestamp.Of(t.path)
	if err != nil || st == t.stamp {
		return t.set
	}
	set, err := readTokens(t.path)
	if err != nil {
		t.log.Warn("auth token file unreadable; keeping the previous tokens", "file", t.path, "err", err)
		return t.set
	}
	t.stamp, t.set = st, set
	t.log.Info("auth tokens reloaded", "file", t.path, "tokens", len(set))
	return t.set
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
