package replay

import (
	"bufio"
	"encoding/json"
	"io"
	"time"
)

// Event types, the enum value names of aisle.v1.EventType.
const (
	TypeView           = "EVENT_TYPE_VIEW"
	TypeClick          = "EVENT_TYPE_CLICK"
	TypeAddToCart      = "EVENT_TYPE_ADD_TO_CART"
	TypeRemoveFromCart = "EVENT_TYPE_REMOVE_FROM_CART"
	TypePurchase       = "EVENT_TYPE_PURCHASE"
	TypeImpression     = "EVENT_TYPE_IMPRESSION"
	TypeSearch         = "EVENT_TYPE_SEARCH"
)

// Event is aisle.v1.Event in its protojson form (package doc).
type Event struct {
	EventID      string            `json:"eventId,omitempty"`
	GuestID      string            `json:"guestId,omitempty"`
	SessionID    string            `json:"sessionId,omitempty"`
	Type         string            `json:"type,omitempty"`
	ItemIDs      []string          `json:"itemIds,omitempty"`
	Query        string            `json:"query,omitempty"`
	Timestamp    Timestamp         `json:"timestamp"`
	Surface      string            `json:"surface,omitempty"`
	ImpressionID string            `json:"impressionId,omitempty"`
	Slot         int32             `json:"slot,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// Timestamp marshals as google.protobuf.Timestamp does in protojson: RFC
// 3339 in UTC with "Z", and 0, 3, 6 or 9 fractional digits.
type Timestamp struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	u := t.UTC()
	layout := "2006-01-02T15:04:05Z"
	switch ns := u.Nanosecond(); {
	case ns == 0:
	case ns%1e6 == 0:
		layout = "2006-01-02T15:04:05.000Z"
	case ns%1e3 == 0:
		layout = "2006-01-02T15:04:05.000000Z"
	default:
		layout = "2006-01-02T15:04:05.000000000Z"
	}
	return []byte(`"` + u.Format(layout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	t.Time = v
	return err
}

// Writer writes events as JSON lines.
type Writer struct {
	bw  *bufio.Writer
	enc *json.Encoder
	n   int
}

// NewWriter returns a Writer on w; call Flush at the end.
func NewWriter(w io.Writer) *Writer {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return &Writer{bw: bw, enc: enc}
}

// Write writes one event.
func (w *Writer) Write(e Event) error {
	w.n++
	return w.enc.Encode(e)
}

// Count returns the number of events written.
func (w *Writer) Count() int { return w.n }

// Flush flushes buffered events.
func (w *Writer) Flush() error { return w.bw.Flush() }
