package recommend

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aisle-ai/aisle/filestamp"
)

// SurfaceStore holds the current surfaces configuration and hot-reloads it
// from its file, like the repository reloads models: a changed file is
// parsed and validated, and only a valid one replaces the configuration in
// use (an invalid one is logged and the previous one keeps serving). A
// missing file means no surfaces: Recommend answers ErrUnknownSurface.
type SurfaceStore struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[Surfaces] // nil until a valid file was read

	mu      sync.Mutex // guards seen, checked and lastErr: one reload at a time
	seen    filestamp.Stamp
	checked bool
	lastErr error
}

// NewSurfaceStore reads path once. A missing file is not an error; an
// invalid one is, so a bad configuration never starts serving.
func NewSurfaceStore(path string, log *slog.Logger) (*SurfaceStore, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &SurfaceStore{path: path, log: log}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Get returns the configuration in use, nil when there is none. The value
// is immutable: a reload publishes a new one.
func (s *SurfaceStore) Get() *Surfaces { return s.cur.Load() }

// Set publishes a validated configuration directly (tests, embedding).
func (s *SurfaceStore) Set(sf *Surfaces) { s.cur.Store(sf) }

// Reload re-reads the file when its size or modification time changed. It
// returns the parse or validation error of a changed, invalid file, which
// is then not applied.
func (s *SurfaceStore) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := filestamp.Of(s.path)
	if s.checked && st == s.seen {
		return s.lastErr
	}
	s.seen, s.checked = st, true
	if err != nil { // no file (a missing one, or a directory): no surfaces
		if s.cur.Swap(nil) != nil {
			s.log.Warn("surfaces file removed; Recommend has no surfaces", "path", s.path)
		}
		s.lastErr = nil
		return nil
	}
	sf, err := LoadSurfaces(s.path)
	if err != nil {
		s.lastErr = err
		if s.cur.Load() != nil {
			s.log.Error("surfaces file invalid; keeping the previous one", "path", s.path, "err", err)
		}
		return err
	}
	s.lastErr = nil
	s.cur.Store(sf)
	s.log.Info("surfaces loaded", "path", s.path, "surfaces", slices.Sorted(maps.Keys(sf.Surfaces)))
	return nil
}

// Run reloads every interval until ctx ends; serve starts and joins it.
func (s *SurfaceStore) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Reload() // logged by Reload
		}
	}
}
