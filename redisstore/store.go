package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/aisle-ai/aisle/guest"
)

// Snapshot implements guest.Store: HGETALL of both feature hashes in one
// pipeline (same slot, one node, one round trip).
func (s *Store) Snapshot(ctx context.Context, guestID string) (guest.Snapshot, error) {
	pipe := s.rdb.Pipeline()
	rt := pipe.HGetAll(ctx, s.keys.realTime(guestID))
	lt := pipe.HGetAll(ctx, s.keys.longTerm(guestID))
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return guest.Snapshot{}, classify(err, guest.ErrUnavailable, guest.ErrUnavailable)
	}
	var snap guest.Snapshot
	var err error
	if snap.RealTime, err = guest.DecodeFields(rt.Val()); err != nil {
		return guest.Snapshot{}, fmt.Errorf("guest %q real-time: %w", guestID, err)
	}
	if snap.LongTerm, err = guest.DecodeFields(lt.Val()); err != nil {
		return guest.Snapshot{}, fmt.Errorf("guest %q long-term: %w", guestID, err)
	}
	return snap, nil
}

// PutLongTerm implements guest.LongTermWriter: for each record DEL then
// HSET of the long-term hash (expiring after Features.Expiry plus the
// long-term half-life), all in one pipeline. Callers batch (aisle features
// load sends 500 guests per call).
func (s *Store) PutLongTerm(ctx context.Context, recs []guest.LongTerm) error {
	pipe := s.rdb.Pipeline()
	ttl := s.opts.Features.Expiry + s.opts.Features.LongTermHalfLife
	for i := range recs {
		key := s.keys.longTerm(recs[i].GuestID)
		st := recs[i].State()
		fields := make([]any, 0, 2*len(st.Affinity))
		for f, d := range st.Affinity {
			fields = append(fields, f, guest.EncodeDecayed(d))
		}
		pipe.Del(ctx, key)
		if len(fields) > 0 {
			pipe.HSet(ctx, key, fields...)
			pipe.PExpire(ctx, key, ttl)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return classify(err, guest.ErrUnavailable, guest.ErrUnavailable)
	}
	return nil
}
