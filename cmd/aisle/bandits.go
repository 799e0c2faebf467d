package main

import "github.com/aisle-ai/aisle/bandit"

// newBandits builds the bandits of the --bandits config over the
// in-process store (the embedded default; a shared Redis store replaces it
// when configured).
func newBandits(path string) (*bandit.Bandits, error) {
	var cfg bandit.Config
	if path != "" {
		var err error
		if cfg, err = bandit.LoadConfig(path); err != nil {
			return nil, err
		}
	}
	return bandit.New(cfg, bandit.NewMemStore())
}
