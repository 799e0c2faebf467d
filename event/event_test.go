package event

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type catalog map[string]bool

func (c catalog) Known(id string) bool { return c[id] }

func TestValidatorBatch(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := NewValidator(Limits{MaxBatch: 3}, catalog{"a": true})
	v.now = func() time.Time { return now }
	good := func() Event { return Event{ID: "e", GuestID: "g", Type: TypeView, ItemIDs: []string{"a"}} }
	evs := []Event{good(), good(), good(), good()}
	evs[1].ItemIDs = []string{"b"}
	evs[2].Time = now.Add(-31 * 24 * time.Hour)
	errs := v.Batch(evs)
	if errs[0] != nil || !evs[0].Time.Equal(now) {
		t.Fatalf("good event: %v, time %v (want now filled in)", errs[0], evs[0].Time)
	}
	for i, want := range []string{"", `unknown item "b"`, "older than the retention", "batch has 4 events, the limit is 3"} {
		if want == "" {
			continue
		}
		if !errors.Is(errs[i], ErrInvalid) || !strings.Contains(errs[i].Error(), want) {
			t.Errorf("event %d: %v, want %q", i, errs[i], want)
		}
	}
}

func TestMemoryLogRefusesWhenFull(t *testing.T) {
	l := NewMemoryLog(2)
	errs := l.Append(context.Background(), make([]Event, 3))
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrOverloaded) {
		t.Fatalf("errs = %v, want the third refused", errs)
	}
	if l.Backlog() != 2 {
		t.Fatalf("backlog %d", l.Backlog())
	}
}

func TestTypeNames(t *testing.T) {
	if TypeAddToCart.String() != "add_to_cart" || Type(42).String() != "unknown" || Type(42).Known() || TypeUnspecified.Known() {
		t.Fatal("type names")
	}
}
