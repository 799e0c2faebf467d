package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest/guesttest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// TestEventStreamIndexesDoNotWrap: result indexes are int32, so a stream
// ends before its events outnumber them, with RESOURCE_EXHAUSTED naming
// the first index not stored, instead of answering with wrapped indexes.
// The limit is lowered to 5 to reach it (the real one is 2^31).
func TestEventStreamIndexesDoNotWrap(t *testing.T) {
	log := event.NewMemoryLog(0)
	svc := NewEvents(EventsConfig{Validator: event.NewValidator(event.Limits{MaxBatch: 20, MaxItems: 3}, guesttest.TestCatalog()), Log: log}, nil)
	svc.maxStream = 5
	ts := startServerAuthed(t, t.TempDir(), func(Repository) []Service { return []Service{svc} })
	stream, err := aislepb.NewEventsClient(ts.conn).RecordEventStream(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	batch := func(n int) *aislepb.RecordEventsRequest {
		req := &aislepb.RecordEventsRequest{}
		for range n {
			req.Events = append(req.Events, pev(fmt.Sprintf("wrap-%d", sent), "g-wrap", aislepb.EventType_EVENT_TYPE_VIEW, "1"))
			sent++
		}
		return req
	}
	for _, n := range []int{3, 3} { // indexes 0-2 fit; 3-5 would pass the last index, 4
		if err := stream.Send(batch(n)); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	_, err = stream.CloseAndRecv()
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "from stream index 3 on were not stored") {
		t.Fatalf("stream past its indexes: %v; want ResourceExhausted naming index 3", err)
	}
	if n := log.Backlog(); n != 3 {
		t.Fatalf("%d events in the log; want the first batch's 3", n)
	}
}
