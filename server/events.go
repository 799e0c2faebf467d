package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/aisle-ai/aisle/event"
	"github.com/aisle-ai/aisle/guest"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// EventsConfig wires the Events service to its validator, log and reader.
type EventsConfig struct {
	Validator *event.Validator
	Log       event.Log
	Features  *guest.Reader
	// AppendTimeout bounds one append to the log (default 1 s): a stalled
	// log answers UNAVAILABLE instead of holding the client.
	AppendTimeout time.Duration
	// MaxInFlight bounds concurrent record calls (default 64); past it
	// calls get RESOURCE_EXHAUSTED at once rather than a queue.
	MaxInFlight int
	// Observer, if set, sees each call's accepted events before it
	// answers (BanditEvents credits bandit arms from them), under a
	// context detached from the client's cancel and bounded by
	// AppendTimeout: the events are stored, so their effects should be too.
	Observer EventObserver
}

// Events serves aisle.v1.Events.
type Events struct {
	aislepb.UnimplementedEventsServer
	cfg EventsConfig
	// slots admits record calls; a full channel means MaxInFlight calls are
	// appending now.
	slots   chan struct{}
	outcome *prometheus.CounterVec
	// maxStream is how many events one RecordEventStream takes:
	// streamIndexes, lowered by tests.
	maxStream int
}

// streamIndexes is the number of event indexes one stream can name: the
// proto's EventResult.index is an int32, so past 2^31 events an index would
// wrap negative and cite the wrong event. The stream ends there instead
// (errStreamFull), and the client resends the rest on a new stream.
const streamIndexes = math.MaxInt32 + 1

// errStreamFull reports a RecordEventStream that has used every index.
var errStreamFull = errors.New("stream full")

// NewEvents returns the service; reg may be nil.
func NewEvents(cfg EventsConfig, reg prometheus.Registerer) *Events {
	if cfg.AppendTimeout <= 0 {
		cfg.AppendTimeout = time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	e := &Events{cfg: cfg, slots: make(chan struct{}, cfg.MaxInFlight), maxStream: streamIndexes,
		outcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aisle_events_total",
			Help: "Recorded events by outcome: accepted (durably logged), rejected (invalid) or failed (log overloaded or down).",
		}, []string{"outcome"})}
	if reg != nil {
		reg.MustRegister(e.outcome)
	}
	return e
}

// Register implements Service.
func (e *Events) Register(s grpc.ServiceRegistrar) { aislepb.RegisterEventsServer(s, e) }

// RecordEvents validates and logs one batch, answering per event.
func (e *Events) RecordEvents(ctx context.Context, req *aislepb.RecordEventsRequest) (*aislepb.RecordEventsResponse, error) {
	if len(req.Events) == 0 {
		return nil, toStatus(fmt.Errorf("%w: no events", errBadRequest))
	}
	if err := e.checkSize(len(req.Events)); err != nil {
		return nil, toStatus(err)
	}
	resp, storeErr := e.record(ctx, req.Events, 0)
	if storeErr != nil && resp.Accepted == 0 && resp.Rejected == 0 {
		return nil, toStatus(storeErr) // nothing stored: the call failed as a whole
	}
	return resp, nil
}

// RecordEventStream records batches until the client closes the stream.
// A batch the log cannot take at all ends the stream with
// RESOURCE_EXHAUSTED or UNAVAILABLE naming the index of its first event:
// the client resends from there (event ids make the resend idempotent).
// So does a batch that would take the stream past 2^31 events, whose
// indexes the int32 results cannot hold.
func (e *Events) RecordEventStream(stream grpc.ClientStreamingServer[aislepb.RecordEventsRequest, aislepb.RecordEventStreamResponse]) error {
	sum := &aislepb.RecordEventStreamResponse{}
	var offset int
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(sum)
		}
		if err != nil {
			return err
		}
		if err := e.checkSize(len(req.Events)); err != nil {
			return toStatus(fmt.Errorf("stream index %d: %w", offset, err))
		}
		if len(req.Events) > e.maxStream-offset {
			return toStatus(fmt.Errorf("%w: events from stream index %d on were not stored: one stream carries at most %d events (result indexes are int32); resend them on a new stream",
				errStreamFull, offset, e.maxStream))
		}
		resp, storeErr := e.record(stream.Context(), req.Events, offset)
		if storeErr != nil && resp.Accepted == 0 && resp.Rejected == 0 {
			return toStatus(fmt.Errorf("events from stream index %d on were not stored: %w", offset, storeErr))
		}
		sum.Accepted += int64(resp.Accepted)
		sum.Rejected += int64(resp.Rejected)
		sum.Failed += int64(resp.Failed)
		for _, r := range resp.Results {
			if r.Status != aislepb.EventStatus_EVENT_STATUS_ACCEPTED && len(sum.NotAccepted) < 1000 {
				sum.NotAccepted = append(sum.NotAccepted, r)
			}
		}
		offset += len(req.Events)
	}
}

// checkSize refuses, whole and before any work, a batch of more than
// twice the validator's MaxBatch. Up to that the events past MaxBatch are
// answered one by one like any bad event; far past it a per-event answer
// costs more than the batch (a 2 MiB request of empty events would get a
// reply over the send limit), so the call is INVALID_ARGUMENT instead.
func (e *Events) checkSize(n int) error {
	if limit := 2 * e.cfg.Validator.Limits().MaxBatch; n > limit {
		return fmt.Errorf("%w: batch has %d events; batches over %d are refused whole (at most %d are taken per call)",
			errBadRequest, n, limit, limit/2)
	}
	return nil
}

// record validates and appends; it returns the per-event results and the
// first log error (nil when the log took every valid event).
func (e *Events) record(ctx context.Context, in []*aislepb.Event, offset int) (*aislepb.RecordEventsResponse, error) {
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	default:
		return &aislepb.RecordEventsResponse{}, fmt.Errorf("%w: %d record calls in flight", event.ErrOverloaded, cap(e.slots))
	}
	evs := make([]event.Event, len(in))
	for i, pe := range in {
		evs[i] = eventFromProto(pe)
	}
	verrs := e.cfg.Validator.Batch(evs)
	valid := make([]event.Event, 0, len(evs))
	for i := range evs {
		if verrs[i] == nil {
			valid = append(valid, evs[i])
		}
	}
	var lerrs []error
	if len(valid) > 0 {
		actx, cancel := context.WithTimeout(ctx, e.cfg.AppendTimeout)
		lerrs = e.cfg.Log.Append(actx, valid)
		cancel()
	}
	if e.cfg.Observer != nil {
		e.observe(ctx, valid, lerrs)
	}
	resp := &aislepb.RecordEventsResponse{Results: make([]*aislepb.EventResult, len(evs))}
	var storeErr error
	for i, v := 0, 0; i < len(evs); i++ {
		r := &aislepb.EventResult{Index: int32(offset + i), EventId: evs[i].ID, Status: aislepb.EventStatus_EVENT_STATUS_ACCEPTED}
		switch {
		case verrs[i] != nil:
			r.Status, r.Reason = aislepb.EventStatus_EVENT_STATUS_REJECTED, verrs[i].Error()
			resp.Rejected++
		case lerrs[v] != nil:
			r.Status, r.Reason = aislepb.EventStatus_EVENT_STATUS_FAILED, lerrs[v].Error()
			storeErr = cmp.Or(storeErr, lerrs[v])
			resp.Failed++
			v++
		default:
			resp.Accepted++
			v++
		}
		resp.Results[i] = r
	}
	e.outcome.WithLabelValues("accepted").Add(float64(resp.Accepted))
	e.outcome.WithLabelValues("rejected").Add(float64(resp.Rejected))
	e.outcome.WithLabelValues("failed").Add(float64(resp.Failed))
	return resp, storeErr
}

// observe hands the events the log accepted to the Observer.
func (e *Events) observe(ctx context.Context, valid []event.Event, lerrs []error) {
	accepted := make([]event.Event, 0, len(valid))
	for i := range valid {
		if lerrs[i] == nil {
			accepted = append(accepted, valid[i])
		}
	}
	if len(accepted) == 0 {
		return
	}
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.AppendTimeout)
	defer cancel()
	e.cfg.Observer.Accepted(octx, accepted)
}

// GetGuestFeatures returns one guest's features.
func (e *Events) GetGuestFeatures(ctx context.Context, req *aislepb.GetGuestFeaturesRequest) (*aislepb.GetGuestFeaturesResponse, error) {
	if req.GuestId == "" {
		return nil, toStatus(fmt.Errorf("%w: missing guest_id", errBadRequest))
	}
	f, err := e.cfg.Features.Features(ctx, req.GuestId)
	if err != nil {
		return nil, toStatus(err)
	}
	return &aislepb.GetGuestFeaturesResponse{Features: featuresToProto(&f)}, nil
}
