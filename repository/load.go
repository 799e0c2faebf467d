package repository

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/filestamp"
	"github.com/aisle-ai/aisle/inference"
)

// loadVersion reads, checks, instantiates and warms up one version. On any
// error everything it created is released and nothing is published.
func (m *Manager) loadVersion(ctx context.Context, name, dir string, cfg *Config, number int64) (*Version, error) {
	rel := filepath.Join(name, fmt.Sprint(number), cfg.modelFile())
	if err := confine(m.opts.Root, rel); err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", name, number, err)
	}
	path := filepath.Join(dir, fmt.Sprint(number), cfg.modelFile())
	model, err := inference.ReadModel(path)
	if err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", name, number, err)
	}
	resolved := *cfg
	if why := unbatchable(cfg, model); why != "" {
		m.log.Warn("model served without batching", "model", name, "version", number,
			"reason", why+": max_batch_size "+fmt.Sprint(cfg.MaxBatchSize)+" ignored; dims now include dimension 0")
		resolved = unbatch(cfg, model)
	}
	resolved.Inputs, resolved.Outputs, err = resolveTensors(&resolved, model)
	if err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", name, number, err)
	}
	if err := checkGuardedPads(&resolved, model.Guards); err != nil {
		return nil, fmt.Errorf("load %s v%d: %w", name, number, err)
	}
	v := &Version{Name: name, Number: number, Dir: dir, Config: &resolved, Model: model}
	if err := m.instantiate(ctx, v); err != nil {
		v.destroySessions()
		return nil, fmt.Errorf("load %s v%d: %w", name, number, err)
	}
	v.LoadedAt = time.Now()
	return v, nil
}

func (m *Manager) instantiate(ctx context.Context, v *Version) error {
	opts := m.opts.Session
	if v.Config.Runtime != nil {
		opts = *v.Config.Runtime
	}
	runners := make([]batching.Runner, 0, v.Config.Instances())
	for range v.Config.Instances() {
		s, err := v.Model.NewSession(opts)
		if err != nil {
			return err
		}
		v.sessions = append(v.sessions, s)
		if m.opts.Runner != nil {
			runners = append(runners, m.opts.Runner(s))
		} else {
			runners = append(runners, s)
		}
	}
	if err := v.warmup(ctx); err != nil {
		return err
	}
	if err := m.prepareExtensions(v); err != nil {
		return err
	}
	bc := schedulerConfig(v)
	bc.Log = m.log
	sched, err := batching.New(bc, runners, m.batchMetrics)
	if err != nil {
		return fmt.Errorf("create scheduler: %w", err)
	}
	v.sched = sched
	return nil
}

// prepareExtensions checks the version's parameters, then asks every
// extension for its pipeline.
func (m *Manager) prepareExtensions(v *Version) error {
	if err := m.checkParameters(v.Config.Parameters); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(m.opts.Extensions)) {
		p, err := m.opts.Extensions[name].Prepare(v)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		if p != nil {
			v.pipelines = append(v.pipelines, p)
		}
	}
	return nil
}

// checkParameters refuses a parameter that no registered extension reads:
// like an unknown config.yaml key, a misspelt or stale parameter must not
// pass silently. "pipeline" selects an extension and is always accepted.
func (m *Manager) checkParameters(params map[string]string) error {
	read := map[string]bool{}
	for _, ext := range m.opts.Extensions {
		for _, k := range ext.Parameters() {
			read[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if k != "pipeline" && !read[k] {
			known := strings.Join(slices.Sorted(maps.Keys(read)), ", ")
			if known == "" {
				known = "none"
			}
			return fmt.Errorf("%w: parameter %q is read by no pipeline (parameters read: %s)", ErrConfig, k, known)
		}
	}
	return nil
}

func schedulerConfig(v *Version) batching.Config {
	cfg := v.Config
	bc := batching.Config{Model: v.Name, Version: v.Number, MaxBatchSize: cfg.MaxBatchSize}
	for _, in := range cfg.Inputs {
		bc.Inputs = append(bc.Inputs, batching.InputSpec{Name: in.Name, DType: in.DType(), Ragged: in.Ragged, PadValue: in.PadValue})
	}
	for _, out := range cfg.Outputs {
		bc.Outputs = append(bc.Outputs, batching.OutputSpec{Name: out.Name, Ragged: out.Ragged})
	}
	if db := cfg.DynamicBatching; db != nil {
		d := &batching.Dynamic{
			PreferredBatchSizes:  db.PreferredBatchSize,
			MaxQueueDelay:        time.Duration(db.MaxQueueDelayMicroseconds) * time.Microsecond,
			PreserveOrdering:     db.PreserveOrdering,
			PriorityLevels:       db.PriorityLevels,
			DefaultPriorityLevel: db.DefaultPriorityLevel,
			DefaultQueuePolicy:   db.DefaultQueuePolicy.toBatching(),
		}
		if o := db.LatencyObjective; o != nil {
			d.Objective = &batching.LatencyObjective{Percentile: o.Percentile,
				Target: time.Duration(o.TargetMicroseconds) * time.Microsecond}
		}
		if len(db.PriorityQueuePolicy) > 0 {
			d.PriorityQueuePolicy = map[int]batching.QueuePolicy{}
			for level, p := range db.PriorityQueuePolicy {
				d.PriorityQueuePolicy[level] = p.toBatching()
			}
		}
		bc.Dynamic = d
	}
	return bc
}

func (p QueuePolicy) toBatching() batching.QueuePolicy {
	action := batching.Reject
	if strings.EqualFold(p.TimeoutAction, "DELAY") {
		action = batching.Delay
	}
	return batching.QueuePolicy{
		TimeoutAction:        action,
		DefaultTimeout:       time.Duration(p.DefaultTimeoutMicroseconds) * time.Microsecond,
		AllowTimeoutOverride: p.AllowTimeoutOverride,
		MaxQueueSize:         p.MaxQueueSize,
	}
}

// confine checks that rel, a path inside the repository root, names a
// regular file that stays inside the root once symbolic links are followed
// (inference.FileInFolder, the check external data gets too): a model file
// linked to a file elsewhere on the server is refused. The scan already
// skips model and version directories that are links, and model names from
// requests cannot contain separators or "..".
func confine(root, rel string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	defer r.Close()
	switch err := inference.FileInFolder(r, rel); {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s: %w", rel, os.ErrNotExist)
	case errors.Is(err, filestamp.ErrNotRegular):
		return fmt.Errorf("%w: %s is not a regular file", ErrConfig, rel)
	default:
		return fmt.Errorf("%w: %q: %v", ErrOutsideRepository, rel, err)
	}
}

// InDir returns dir/rel after checking that rel names a regular file inside
// dir once symbolic links are followed (confine). Extensions use it for the
// files a config names (a tokenizer, an item table), so a link in a model
// folder cannot make the server read a file elsewhere. Errors name rel,
// never dir.
func InDir(dir, rel string) (string, error) {
	if err := confine(dir, rel); err != nil {
		return "", err
	}
	return filepath.Join(dir, rel), nil
}

func (c *Config) modelFile() string {
	if c.DefaultModelFilename != "" {
		return c.DefaultModelFilename
	}
	return DefaultModelFile
}
