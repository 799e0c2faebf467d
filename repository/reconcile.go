package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aisle-ai/aisle/filestamp"
)

// syncAll brings every model in the repository in line with the disk.
// initial marks the first pass, when files are taken as complete.
func (m *Manager) syncAll(ctx context.Context, initial bool) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	names, err := scanRoot(m.opts.Root)
	if err != nil {
		return fmt.Errorf("scan repository %s: %w", m.opts.Root, err)
	}
	present := map[string]bool{}
	for _, name := range names {
		present[name] = true
		m.syncModel(ctx, name, initial)
	}
	m.dropMissing(ctx, present)
	return nil
}

// dropMissing unloads models whose directory disappeared.
func (m *Manager) dropMissing(ctx context.Context, present map[string]bool) {
	m.mu.Lock()
	var gone []*Version
	for name, st := range m.models {
		if present[name] {
			continue
		}
		for _, v := range st.serving {
			gone = append(gone, v)
		}
		delete(m.models, name)
	}
	m.mu.Unlock()
	m.retireLogged(ctx, gone)
}

func (m *Manager) state(name string) *modelState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.models[name]
	if !ok {
		st = &modelState{name: name, serving: map[int64]*Version{}, loadedAt: map[int64]filestamp.Stamp{},
			failed: map[int64]filestamp.Stamp{}, reasons: map[int64]string{}, lastSeen: map[int64]filestamp.Stamp{}}
		m.models[name] = st
	}
	return st
}

// syncModel reconciles one model. The caller holds syncMu, so only the
// published maps need m.mu.
func (m *Manager) syncModel(ctx context.Context, name string, initial bool) {
	st := m.state(name)
	if st.unloaded && !st.forceLoad {
		return
	}
	dir := scanModel(m.opts.Root, name, DefaultModelFile)
	cfgChanged := m.refreshConfig(st, dir, initial)
	if st.cfg == nil {
		return
	}
	if st.cfg.DefaultModelFilename != "" {
		dir = scanModel(m.opts.Root, name, st.cfg.modelFile())
	}
	next, nextStamps, extra := m.loadDesired(ctx, st, dir, cfgChanged, m.candidates(st, dir, initial))
	st.forceLoad = false
	m.publish(ctx, st, next, nextStamps)
	m.retireLogged(ctx, extra)
}

// loadDesired loads the versions the policy picks from cands. When a pick
// fails it is dropped and the policy re-applied, so a corrupt newest
// version leaves the previous one serving. It returns the new serving set
// and versions it loaded that ended up not chosen.
func (m *Manager) loadDesired(ctx context.Context, st *modelState, dir modelDir, cfgChanged bool, cands []int64) (map[int64]*Version, map[int64]filestamp.Stamp, []*Version) {
	loaded := map[int64]*Version{}
	for {
		desired := st.cfg.VersionPolicy.choose(cands)
		failed := false
		for _, n := range desired {
			if _, ok := loaded[n]; ok {
				continue
			}
			cur, ok := st.serving[n]
			unchanged := st.loadedAt[n] == dir.versions[n] || st.failed[n] == dir.versions[n]
			if ok && !cfgChanged && !st.forceLoad && unchanged {
				loaded[n] = cur
				continue
			}
			v, err := m.loadVersion(ctx, st.name, dir.path, st.cfg, n)
			if err != nil {
				m.refuse(st, n, dir.versions[n], err)
				if ok { // the old file keeps serving
					loaded[n] = cur
					continue
				}
				cands, failed = without(cands, n), true
				break
			}
			delete(st.failed, n)
			delete(st.reasons, n)
			m.metrics.loaded(st.name, n, ok)
			loaded[n] = v
		}
		if !failed {
			return pick(st, loaded, desired, dir)
		}
	}
}

func pick(st *modelState, loaded map[int64]*Version, desired []int64, dir modelDir) (map[int64]*Version, map[int64]filestamp.Stamp, []*Version) {
	next, stamps := map[int64]*Version{}, map[int64]filestamp.Stamp{}
	for _, n := range desired {
		next[n] = loaded[n]
		stamps[n] = dir.versions[n]
		if loaded[n] == st.serving[n] && st.loadedAt[n] != (filestamp.Stamp{}) {
			stamps[n] = st.loadedAt[n]
		}
	}
	var extra []*Version
	for n, v := range loaded {
		if _, ok := next[n]; !ok && v != st.serving[n] {
			extra = append(extra, v)
		}
	}
	return next, stamps, extra
}

func without(vs []int64, n int64) []int64 {
	out := vs[:0:0]
	for _, v := range vs {
		if v != n {
			out = append(out, v)
		}
	}
	return out
}

// refreshConfig re-reads config.yaml when it changed. An invalid new config
// is refused and the model keeps serving under its old one.
func (m *Manager) refreshConfig(st *modelState, dir modelDir, initial bool) bool {
	changed := st.cfg == nil || dir.config != st.cfgStamp || st.forceLoad
	if !changed {
		return false
	}
	if !initial && dir.config != st.lastConf && st.cfg != nil {
		st.lastConf = dir.config // still being written: look again next poll
		return false
	}
	st.lastConf = dir.config
	cfg, err := LoadConfig(dir.path)
	if err == nil && cfg.Name != "" && cfg.Name != st.name {
		err = fmt.Errorf("%w: name %q does not match directory %q", ErrConfig, cfg.Name, st.name)
	}
	if err != nil {
		if dir.config != st.cfgStamp || st.cfgErr == nil {
			m.log.Error("model config refused", "model", st.name, "err", err)
			m.metrics.failures.WithLabelValues(st.name, "config").Inc()
		}
		st.cfgErr = m.pathless(err)
		st.cfgStamp = dir.config
		return false
	}
	st.cfg, st.cfgStamp, st.cfgErr = cfg, dir.config, nil
	return true
}

// candidates returns the versions that may be served: on disk, not being
// written (same stamp as the previous poll) and not already refused.
func (m *Manager) candidates(st *modelState, dir modelDir, initial bool) []int64 {
	var out []int64
	for n, s := range dir.versions {
		prev, seen := st.lastSeen[n]
		stable := initial || (seen && prev == s) || st.loadedAt[n] == s
		if f, failed := st.failed[n]; failed && f == s && !st.forceLoad {
			if _, serving := st.serving[n]; serving {
				out = append(out, n) // the old file of n keeps serving
			}
			continue
		}
		if stable {
			out = append(out, n)
		} else if cur, ok := st.serving[n]; ok && cur != nil {
			out = append(out, n) // keep serving the old file until the new one settles
		}
	}
	st.lastSeen = dir.versions
	for n := range st.reasons {
		if _, ok := dir.versions[n]; !ok {
			delete(st.reasons, n)
			delete(st.failed, n)
		}
	}
	return out
}

func (m *Manager) refuse(st *modelState, n int64, s filestamp.Stamp, err error) {
	reason := "load"
	if errors.Is(err, ErrConfig) {
		reason = "config"
	}
	m.log.Error("model version refused", "model", st.name, "version", n, "err", err)
	m.metrics.failures.WithLabelValues(st.name, reason).Inc()
	st.failed[n] = s
	st.reasons[n] = m.relative(err.Error())
}

// publish swaps the serving set atomically and retires what left it.
func (m *Manager) publish(ctx context.Context, st *modelState, next map[int64]*Version, stamps map[int64]filestamp.Stamp) {
	m.mu.Lock()
	var old []*Version
	for n, v := range st.serving {
		if next[n] != v {
			old = append(old, v)
		}
	}
	var added []int64
	for n, v := range next {
		if st.serving[n] != v {
			added = append(added, n)
		}
	}
	st.serving, st.loadedAt = next, stamps
	for n := range next {
		m.metrics.ready.WithLabelValues(st.name, strconv.FormatInt(n, 10)).Set(1)
	}
	m.mu.Unlock()
	for _, n := range added {
		m.log.Info("model version serving", "model", st.name, "version", n)
	}
	m.retireLogged(ctx, old)
}

func (m *Manager) retireLogged(ctx context.Context, vs []*Version) {
	if len(vs) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.DrainTimeout)
	defer cancel()
	if err := m.retire(dctx, vs); err != nil {
		m.log.Warn("drain incomplete", "err", err)
	}
}
