package event

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits bound every event; zero fields take the defaults.
type Limits struct {
	// MaxBatch is the most events one call may carry (default 1,000);
	// events past it are rejected one by one.
	MaxBatch int
	// MaxItems is the most item ids one event may carry (default 100, a
	// whole impression slate or basket).
	MaxItems int
	// MaxIDBytes bounds event, guest, session, item and impression ids and
	// the surface (default 128).
	MaxIDBytes int
	// MaxQueryBytes bounds a search query (default 512).
	MaxQueryBytes int
	// MaxAttributes bounds an event's attributes (default 32 entries of at
	// most MaxIDBytes key and 256-byte value).
	MaxAttributes int
	// MaxSkew is how far in the future a timestamp may be (default 5m, for
	// clients' clocks).
	MaxSkew time.Duration
	// Retention is how old an event may be (default 30 days, the guest
	// features' expiry).
	Retention time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxBatch      = 1000
	DefaultMaxItems      = 100
	DefaultMaxIDBytes    = 128
	DefaultMaxQueryBytes = 512
	DefaultMaxAttributes = 32
	DefaultMaxSkew       = 5 * time.Minute
	DefaultRetention     = 30 * 24 * time.Hour
	maxAttrValueBytes    = 256
)

// WithDefaults returns l with zero fields set to the defaults.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBatch, DefaultMaxBatch)
	def(&l.MaxItems, DefaultMaxItems)
	def(&l.MaxIDBytes, DefaultMaxIDBytes)
	def(&l.MaxQueryBytes, DefaultMaxQueryBytes)
	def(&l.MaxAttributes, DefaultMaxAttributes)
	if l.MaxSkew <= 0 {
		l.MaxSkew = DefaultMaxSkew
	}
	if l.Retention <= 0 {
		l.Retention = DefaultRetention
	}
	return l
}

// Catalog says whether an item exists; the validator rejects events about
// unknown items. It must be safe for concurrent use.
type Catalog interface {
	Known(itemID string) bool
}

// Validator checks events against Limits and a Catalog.
type Validator struct {
	limits  Limits
	catalog Catalog
	now     func() time.Time
}

// NewValidator returns a validator; a nil catalog accepts every item id.
func NewValidator(l Limits, c Catalog) *Validator {
	return &Validator{limits: l.WithDefaults(), catalog: c, now: time.Now}
}

// Limits returns the limits in force (defaults filled in).
func (v *Validator) Limits() Limits { return v.limits }

// Batch validates a batch in place: it fills unset timestamps with now and
// returns one error per event (nil = valid), each wrapping ErrInvalid with
// the reason.
func (v *Validator) Batch(events []Event) []error {
	now := v.now()
	errs := make([]error, len(events))
	for i := range events {
		if i >= v.limits.MaxBatch {
			errs[i] = fmt.Errorf("%w: batch has %d events, the limit is %d", ErrInvalid, len(events), v.limits.MaxBatch)
			continue
		}
		if events[i].Time.IsZero() {
			events[i].Time = now
		}
		errs[i] = v.check(&events[i], now)
	}
	return errs
}

func (v *Validator) check(e *Event, now time.Time) error {
	if err := v.id("event_id", e.ID, true); err != nil {
		return err
	}
	if err := v.id("guest_id", e.GuestID, true); err != nil {
		return err
	}
	if err := v.id("session_id", e.SessionID, false); err != nil {
		return err
	}
	if !e.Type.Known() {
		return fmt.Errorf("%w: unknown type %d", ErrInvalid, e.Type)
	}
	if err := v.items(e); err != nil {
		return err
	}
	if e.Type == TypeSearch && strings.TrimSpace(e.Query) == "" {
		return fmt.Errorf("%w: search without query", ErrInvalid)
	}
	if len(e.Query) > v.limits.MaxQueryBytes || !utf8.ValidString(e.Query) {
		return fmt.Errorf("%w: query is longer than %d bytes or not UTF-8", ErrInvalid, v.limits.MaxQueryBytes)
	}
	if d := e.Time.Sub(now); d > v.limits.MaxSkew {
		return fmt.Errorf("%w: timestamp %s is %s in the future (limit %s)", ErrInvalid, e.Time.UTC().Format(time.RFC3339), d.Round(time.Second), v.limits.MaxSkew)
	}
	if d := now.Sub(e.Time); d > v.limits.Retention {
		return fmt.Errorf("%w: timestamp %s is older than the retention %s", ErrInvalid, e.Time.UTC().Format(time.RFC3339), v.limits.Retention)
	}
	if err := v.id("surface", e.Surface, false); err != nil {
		return err
	}
	if err := v.id("impression_id", e.ImpressionID, false); err != nil {
		return err
	}
	if e.Slot < 0 {
		return fmt.Errorf("%w: negative slot %d", ErrInvalid, e.Slot)
	}
	return v.attributes(e.Attributes)
}

func (v *Validator) items(e *Event) error {
	if len(e.ItemIDs) == 0 && e.Type != TypeSearch {
		return fmt.Errorf("%w: %s without item_ids", ErrInvalid, e.Type)
	}
	if len(e.ItemIDs) > v.limits.MaxItems {
		return fmt.Errorf("%w: %d item_ids, the limit is %d", ErrInvalid, len(e.ItemIDs), v.limits.MaxItems)
	}
	for _, it := range e.ItemIDs {
		if err := v.id("item_id", it, true); err != nil {
			return err
		}
		if v.catalog != nil && !v.catalog.Known(it) {
			return fmt.Errorf("%w: unknown item %q", ErrInvalid, it)
		}
	}
	return nil
}

func (v *Validator) attributes(a map[string]string) error {
	if len(a) > v.limits.MaxAttributes {
		return fmt.Errorf("%w: %d attributes, the limit is %d", ErrInvalid, len(a), v.limits.MaxAttributes)
	}
	for k, val := range a {
		if err := v.id("attribute key", k, true); err != nil {
			return err
		}
		if len(val) > maxAttrValueBytes || !utf8.ValidString(val) {
			return fmt.Errorf("%w: attribute %q value is longer than %d bytes or not UTF-8", ErrInvalid, k, maxAttrValueBytes)
		}
	}
	return nil
}

// id checks one identifier: length, UTF-8, no whitespace, control
// characters or the stores' separators.
func (v *Validator) id(field, s string, required bool) error {
	if s == "" {
		if required {
			return fmt.Errorf("%w: missing %s", ErrInvalid, field)
		}
		return nil
	}
	if len(s) > v.limits.MaxIDBytes {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrInvalid, field, len(s), v.limits.MaxIDBytes)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, field)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '|' || r == ';' || r == '@' {
			return fmt.Errorf("%w: %s %q contains %q (no whitespace, control characters, '|', ';' or '@')", ErrInvalid, field, truncate(s), r)
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) <= 32 {
		return s
	}
	return s[:32] + "…"
}
