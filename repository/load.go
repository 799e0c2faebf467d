package repository

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/inference"
)

// loadVersion reads, checks, instantiates and warms up one version. On any
// error everything it created is released and nothing is published.
func (m *Manager) loadVersion(ctx context.Context, name, dir string, cfg *Config, number int64) (*Version, error) {
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
		runners = append(runners, s)
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

func (m *Manager) prepareExtensions(v *Version) error {
	v.extensions = map[string]any{}
	for name, ext := range m.opts.Extensions {
		state, err := ext.Prepare(v)
		if err != nil {
			return fmt.Errorf("prepare %s: %w", name, err)
		}
		if state != nil {
			v.extensions[name] = state
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

func (c *Config) modelFile() string {
	if c.DefaultModelFilename != "" {
		return c.DefaultModelFilename
	}
	return DefaultModelFile
}
