package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/server"
)

// loadBanditConfig reads the --bandits config; an empty path is no
// surfaces.
func loadBanditConfig(path string) (bandit.Config, error) {
	if path == "" {
		cfg := bandit.Config{}
		return cfg, cfg.Validate()
	}
	return bandit.LoadConfig(path)
}

// banditWiring is the bandits serve runs and the observer that credits
// them from accepted events (nil without surfaces).
type banditWiring struct {
	bandits  *bandit.Bandits
	observer server.EventObserver
}

// wireBandits builds the bandits over the feature backend's arm store
// and, when a surface is configured, the event hook that joins
// impressions and feedback within window: in process, a bandit.Learner;
// with Redis, the join every replica shares.
func wireBandits(cfg bandit.Config, b *featureBackend, window time.Duration, reg prometheus.Registerer) (*banditWiring, error) {
	bs, err := bandit.New(cfg, b.arms)
	if err != nil {
		return nil, err
	}
	w := &banditWiring{bandits: bs}
	if len(cfg.Surfaces) > 0 {
		w.observer = server.NewBanditEvents(b.join(bs, window), reg)
	}
	return w, nil
}

// learnerJoin is the in-process join.
func learnerJoin(rec *bandit.Bandits, window time.Duration) server.BanditJoin {
	return bandit.NewLearner(rec, bandit.LearnerConfig{Window: window})
}
