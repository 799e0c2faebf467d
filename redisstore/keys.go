package redisstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/aisle-ai/aisle/event"
)

// keys names a partition's keys; see the package doc for the layout.
type keys struct {
	prefix     string
	partitions int
}

// partition is the guest's partition, FNV-1a mod Partitions.
func (k keys) partition(guestID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(guestID))
	return int(h.Sum32() % uint32(k.partitions))
}

func (k keys) tag(p int) string { return k.prefix + ":{g" + strconv.Itoa(p) + "}:" }

func (k keys) stream(p int) string { return k.tag(p) + "events" }
func (k keys) dead(p int) string   { return k.tag(p) + "dead" }
func (k keys) fails(p int) string  { return k.tag(p) + "fails" }

// deadSeen maps the dedupe key of each dead-lettered event to its dead
// letters and whether it was folded since (dead.lua).
func (k keys) deadSeen(p int) string { return k.tag(p) + "deadseen" }

func (k keys) realTime(guestID string) string {
	return k.tag(k.partition(guestID)) + "rt:" + guestID
}

func (k keys) longTerm(guestID string) string {
	return k.tag(k.partition(guestID)) + "lt:" + guestID
}

// seen separates guest and event id with '|', which neither may contain
// (event.Validator): with ':' (which both may contain) guest "a:b" with
// event "c" and guest "a" with event "b:c" shared one marker, and one of
// the two events was dropped as a duplicate.
func (k keys) seen(guestID, eventID string) string {
	return k.tag(k.partition(guestID)) + "seen:" + guestID + "|" + eventID
}

// GuestKeys lists every key the store may keep for a guest and one event
// id, for tests that check they share a Cluster slot.
func (s *Store) GuestKeys(guestID, eventID string) []string {
	p := s.keys.partition(guestID)
	return []string{s.keys.stream(p), s.keys.dead(p), s.keys.fails(p), s.keys.deadSeen(p), s.keys.realTime(guestID), s.keys.longTerm(guestID), s.keys.seen(guestID, eventID)}
}

// ErrPartitions means this process and the Redis it shares disagree on
// Options.Partitions: guests would be split across streams and hashes.
var ErrPartitions = errors.New("redis partition count mismatch")

// CheckPartitions records Partitions in Redis on first use (<prefix>:partitions)
// and fails with ErrPartitions when another process recorded a different
// count.
func (s *Store) CheckPartitions(ctx context.Context) error {
	key := s.keys.prefix + ":partitions"
	if err := s.rdb.SetNX(ctx, key, s.opts.Partitions, 0).Err(); err != nil {
		return classify(err, event.ErrUnavailable, event.ErrUnavailable)
	}
	got, err := s.rdb.Get(ctx, key).Int()
	if err != nil {
		return classify(err, event.ErrUnavailable, event.ErrUnavailable)
	}
	if got != s.opts.Partitions {
		return fmt.Errorf("%w: this process uses %d, %s holds %d (set --redis-partitions %d or flush the keys)", ErrPartitions, s.opts.Partitions, key, got, got)
	}
	return nil
}
