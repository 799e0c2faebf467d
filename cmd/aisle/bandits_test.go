package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aisle-ai/aisle/bandit"
)

// newBandits builds the bandits of a --bandits config in process.
func newBandits(path string) (*bandit.Bandits, error) {
	cfg, err := loadBanditConfig(path)
	if err != nil {
		return nil, err
	}
	return bandit.New(cfg, bandit.NewMemStore())
}

func TestNewBandits(t *testing.T) {
	b, err := newBandits(filepath.Join("..", "..", "testdata", "bandits.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Surfaces(); !slices.Equal(got, []string{"cart", "home"}) {
		t.Errorf("surfaces %v", got)
	}
	if b, err := newBandits(""); err != nil || len(b.Surfaces()) != 0 {
		t.Errorf("no config: %v, %v", b, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("surfaces: [{name: x, arms: [a], polcy: uniform}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newBandits(bad); !errors.Is(err, bandit.ErrInvalid) {
		t.Errorf("misspelt key: %v, want ErrInvalid", err)
	}
}
