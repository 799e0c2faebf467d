package redisstore

import (
	"hash/fnv"
	"strconv"
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

func (k keys) realTime(guestID string) string {
	return k.tag(k.partition(guestID)) + "rt:" + guestID
}

func (k keys) longTerm(guestID string) string {
	return k.tag(k.partition(guestID)) + "lt:" + guestID
}

func (k keys) seen(guestID, eventID string) string {
	return k.tag(k.partition(guestID)) + "seen:" + guestID + ":" + eventID
}

// GuestKeys lists every key the store may keep for a guest and one event
// id, for tests that check they share a Cluster slot.
func (s *Store) GuestKeys(guestID, eventID string) []string {
	p := s.keys.partition(guestID)
	return []string{s.keys.stream(p), s.keys.dead(p), s.keys.realTime(guestID), s.keys.longTerm(guestID), s.keys.seen(guestID, eventID)}
}
