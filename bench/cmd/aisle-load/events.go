package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// RecordEvents scenarios. A request is one held-out cart's shopping
// session as the storefront would batch it (the cart is the basket less
// its last item, as in the other scenarios): the search that started it
// (the basket's derived query), a VIEW and an ADD_TO_CART per item, and the
// PURCHASE of the cart, eleven events on average. Guests repeat (eventGuests of them, as returning
// shoppers do), so the fold updates existing aggregates as well as
// creating them.
//
// The request files hold the templates; every call sends them under new
// event ids (a run nonce, a call counter and the event's position), so the
// store's dedupe never short-cuts a resent id: each call is new work.

// eventGuests is how many guests the held-out sessions are spread over.
const eventGuests = 500

// eventScenario is RecordEvents over the held-out sessions. token is the
// bearer token the call carries (RecordEvents is a mutating call).
func eventScenario(name, backend string, d *heldOut, token string) *scenario {
	var reqs []proto.Message
	for i, cart := range d.carts {
		var ids []string
		for _, n := range cart {
			if id, ok := d.index[n]; ok {
				ids = append(ids, strconv.FormatInt(id, 10))
			}
		}
		if len(ids) == 0 {
			continue
		}
		g, s := fmt.Sprintf("lg-%d", i%eventGuests), fmt.Sprintf("ls-%d", i)
		evs := []*aislepb.Event{{GuestId: g, SessionId: s, Type: aislepb.EventType_EVENT_TYPE_SEARCH, Query: d.queries[i], Surface: "search"}}
		for _, id := range ids {
			evs = append(evs, &aislepb.Event{GuestId: g, SessionId: s, Type: aislepb.EventType_EVENT_TYPE_VIEW, ItemIds: []string{id}, Surface: "search"})
		}
		for _, id := range ids {
			evs = append(evs, &aislepb.Event{GuestId: g, SessionId: s, Type: aislepb.EventType_EVENT_TYPE_ADD_TO_CART, ItemIds: []string{id}, Surface: "cart"})
		}
		evs = append(evs, &aislepb.Event{GuestId: g, SessionId: s, Type: aislepb.EventType_EVENT_TYPE_PURCHASE, ItemIds: ids, Surface: "cart"})
		for j, e := range evs {
			e.EventId = "template-" + strconv.Itoa(i) + "-" + strconv.Itoa(j)
		}
		reqs = append(reqs, &aislepb.RecordEventsRequest{Events: evs})
	}
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	var calls atomic.Int64
	return &scenario{
		name: name, rpc: "RecordEvents (one held-out session, ~11 events, " + backend + ")", reqs: reqs,
		units: func(m proto.Message) int { return len(m.(*aislepb.RecordEventsRequest).Events) },
		call: func(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
			tpl := m.(*aislepb.RecordEventsRequest).Events
			prefix := nonce + "-" + strconv.FormatInt(calls.Add(1), 36) + "-"
			// New messages sharing the templates' read-only fields: the
			// templates are shared by every client goroutine.
			evs := make([]*aislepb.Event, len(tpl))
			for j, t := range tpl {
				evs[j] = &aislepb.Event{EventId: prefix + strconv.Itoa(j), GuestId: t.GuestId, SessionId: t.SessionId,
					Type: t.Type, ItemIds: t.ItemIds, Query: t.Query, Surface: t.Surface}
			}
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
			resp, err := aislepb.NewEventsClient(cc).RecordEvents(ctx, &aislepb.RecordEventsRequest{Events: evs})
			if err != nil {
				return err
			}
			if int(resp.Accepted) != len(evs) {
				// Counted as an error of the point: a rejected event is a
				// bad template (Aborted, a fault the smoke fails on), a
				// failed one an overloaded store shedding load
				// (ResourceExhausted, the refusal the smoke allows: the
				// in-process log refuses events when its buffer is full).
				code := codes.ResourceExhausted
				if resp.Rejected > 0 {
					code = codes.Aborted
				}
				return status.Errorf(code, "%d of %d events accepted (%d rejected, %d failed)",
					resp.Accepted, len(evs), resp.Rejected, resp.Failed)
			}
			return nil
		},
	}
}

// writeToken writes a fresh random bearer token to dir/token (mode 0600)
// for `aisle serve --auth-token-file` and returns it.
func writeToken(dir string) (path, token string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	token = hex.EncodeToString(b[:])
	path = filepath.Join(dir, "token")
	return path, token, os.WriteFile(path, []byte(token+"\n"), 0o600)
}
