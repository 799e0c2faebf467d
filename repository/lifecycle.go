package repository

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/aisle-ai/aisle/excerpt"
	"github.com/aisle-ai/aisle/filestamp"
)

// Load loads every model in the repository. Models that fail are logged and
// reported unavailable; only an unreadable repository is an error.
func (m *Manager) Load(ctx context.Context) error {
	return m.syncAll(ctx, true)
}

// Poll re-scans the repository every interval until ctx is done. A new or
// replaced file is loaded once it has kept its size and time for one
// interval, so a file still being copied is not read half-written.
func (m *Manager) Poll(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.syncAll(ctx, false); err != nil {
				m.log.Error("repository poll", "err", err)
			}
		}
	}
}

// LoadModel loads or reloads a model now (Triton's RepositoryModelLoad).
func (m *Manager) LoadModel(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: invalid name %s", ErrModelNotFound, excerpt.Quote(name))
	}
	names, err := scanRoot(m.opts.Root)
	if err != nil {
		return fmt.Errorf("scan repository: %w", m.pathless(err))
	}
	if !contains(names, name) {
		return fmt.Errorf("%w: %s is not in the repository", ErrModelNotFound, excerpt.Quote(name))
	}
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	st := m.state(name)
	st.unloaded, st.forceLoad = false, true
	m.syncModel(ctx, name, true)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(st.serving) == 0 {
		return fmt.Errorf("%w: %s: %s", ErrNotReady, name, st.reason())
	}
	return nil
}

// UnloadModel drains and unloads every version of a model; the poller
// leaves it unloaded until LoadModel.
func (m *Manager) UnloadModel(ctx context.Context, name string) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	st, ok := m.models[name]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrModelNotFound, excerpt.Quote(name))
	}
	var old []*Version
	for _, v := range st.serving {
		old = append(old, v)
	}
	st.serving, st.loadedAt, st.unloaded = map[int64]*Version{}, map[int64]filestamp.Stamp{}, true
	m.mu.Unlock()
	return m.retire(ctx, old)
}

// IndexEntry is one row of RepositoryIndex.
type IndexEntry struct {
	Name    string
	Version string
	State   string // READY or UNAVAILABLE
	Reason  string
}

// Index lists every model and version the manager knows.
func (m *Manager) Index() []IndexEntry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []IndexEntry
	for name, st := range m.models {
		for n := range st.serving {
			out = append(out, IndexEntry{Name: name, Version: strconv.FormatInt(n, 10), State: "READY"})
		}
		for n, r := range st.reasons {
			if _, ok := st.serving[n]; !ok {
				out = append(out, IndexEntry{Name: name, Version: strconv.FormatInt(n, 10), State: "UNAVAILABLE", Reason: r})
			}
		}
		if len(st.serving) == 0 && len(st.reasons) == 0 {
			out = append(out, IndexEntry{Name: name, State: "UNAVAILABLE", Reason: st.reason()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
