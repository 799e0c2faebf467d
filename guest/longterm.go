package guest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aisle-ai/aisle/event"
)

// LongTerm is one guest's long-term preferences, one line of the JSONL file
// `aisle features load` reads:
//
//	{"guest_id":"u1","affinities":[{"attribute":"aisle","value":"fresh fruits","score":4.2,"last_ms":1700000000000}]}
//
// score is a purchase count decayed to last_ms with Config.LongTermHalfLife.
type LongTerm struct {
	GuestID    string             `json:"guest_id"`
	Affinities []LongTermAffinity `json:"affinities"`
}

// LongTermAffinity is one decayed purchase count.
type LongTermAffinity struct {
	Attribute string  `json:"attribute"`
	Value     string  `json:"value"`
	Score     float64 `json:"score"`
	LastMs    int64   `json:"last_ms"`
}

// State returns the record as a State with purchase affinities.
func (l *LongTerm) State() State {
	s := State{Affinity: make(map[string]Decayed, len(l.Affinities))}
	for _, a := range l.Affinities {
		s.Affinity[AffinityField(event.TypePurchase, a.Attribute, a.Value)] = Decayed{a.Score, a.LastMs}
	}
	return s
}

// ErrBadLongTerm marks a malformed long-term line.
var ErrBadLongTerm = errors.New("bad long-term features")

// ReadLongTerm calls fn for every line of r, stopping at the first error.
func ReadLongTerm(r io.Reader, fn func(LongTerm) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l LongTerm
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrBadLongTerm, line, err)
		}
		if l.GuestID == "" {
			return fmt.Errorf("%w: line %d: missing guest_id", ErrBadLongTerm, line)
		}
		for _, a := range l.Affinities {
			if a.Attribute == "" || a.Value == "" || a.Score < 0 {
				return fmt.Errorf("%w: line %d: affinity needs attribute, value and a score >= 0", ErrBadLongTerm, line)
			}
		}
		if err := fn(l); err != nil {
			return err
		}
	}
	return sc.Err()
}
