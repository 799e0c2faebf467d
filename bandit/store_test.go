package bandit_test

import (
	"testing"

	"github.com/aisle-ai/aisle/bandit"
	"github.com/aisle-ai/aisle/bandit/bandittest"
)

func TestMemStore(t *testing.T) {
	bandittest.TestStore(t, func(*testing.T) bandit.Store { return bandit.NewMemStore() })
}
