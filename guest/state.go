package guest

import (
	"math"
	"sort"
)

// Decayed is a count decayed with a half-life: Score at time LastMs.
type Decayed struct {
	Score  float64
	LastMs int64
}

// Add folds one unit at time atMs: decayed to the later of the two times,
// so the result does not depend on the order of folding.
func (d Decayed) Add(atMs, halfLifeMs int64) Decayed {
	return d.AddN(1, atMs, halfLifeMs)
}

// AddN folds n units at time atMs (see Add).
func (d Decayed) AddN(n float64, atMs, halfLifeMs int64) Decayed {
	if d.LastMs == 0 && d.Score == 0 {
		return Decayed{n, atMs}
	}
	if atMs >= d.LastMs {
		return Decayed{d.Score*math.Exp2(-float64(atMs-d.LastMs)/float64(halfLifeMs)) + n, atMs}
	}
	return Decayed{d.Score + n*math.Exp2(-float64(d.LastMs-atMs)/float64(halfLifeMs)), d.LastMs}
}

// At is the value at nowMs (no growth before LastMs).
func (d Decayed) At(nowMs, halfLifeMs int64) float64 {
	if nowMs <= d.LastMs {
		return d.Score
	}
	return d.Score * math.Exp2(-float64(nowMs-d.LastMs)/float64(halfLifeMs))
}

// RecentItem is one entry of the recent list.
type RecentItem struct {
	ItemID string
	AtMs   int64
}

// State is one guest's stored features, the decoded form both stores
// share. The zero State is an unknown guest.
type State struct {
	// Affinity is keyed by AffinityField(signal, attribute, value).
	Affinity map[string]Decayed
	// Recent is newest first, at most Config.RecentItems long.
	Recent []RecentItem
	// Cart maps item id to a positive quantity.
	Cart map[string]int64
	// SessionID is the current session; SessionLastMs its newest event.
	SessionID     string
	SessionLastMs int64
	// Counters are the current session's counters.
	Counters map[string]int64
	// Events is how many events were folded; UpdatedMs the newest one's time.
	Events    int64
	UpdatedMs int64
}

// Empty reports whether nothing was ever folded into s.
func (s *State) Empty() bool { return s.Events == 0 && len(s.Affinity) == 0 }

// Apply folds u into s; it is the Go twin of the Redis store's Lua fold
// (redisstore/fold.lua), and the contract suite holds them to each other.
func (s *State) Apply(u *Update, recentCap int) {
	if s.Affinity == nil {
		s.Affinity, s.Cart, s.Counters = map[string]Decayed{}, map[string]int64{}, map[string]int64{}
	}
	for _, op := range u.Affinity {
		s.Affinity[op.Field] = s.Affinity[op.Field].Add(u.AtMs, op.HalfLifeMs)
	}
	if s.session(u) {
		for _, c := range u.Counters {
			s.Counters[c.Name] += c.Delta
		}
	}
	for _, c := range u.Cart {
		if q := s.Cart[c.Name] + c.Delta; q > 0 && c.Delta != ClearLine {
			s.Cart[c.Name] = q
		} else {
			delete(s.Cart, c.Name)
		}
	}
	for _, it := range u.Recent {
		s.Recent = pushRecent(s.Recent, it, u.AtMs, recentCap)
	}
	s.Events++
	s.UpdatedMs = max(s.UpdatedMs, u.AtMs)
}

// session moves to u's session when it is newer and reports whether u's
// counters count: an event without session, or a late one from a session
// already left, touches no counter.
func (s *State) session(u *Update) bool {
	switch {
	case u.SessionID == "":
		return false
	case u.SessionID == s.SessionID:
		s.SessionLastMs = max(s.SessionLastMs, u.AtMs)
		return true
	case u.AtMs >= s.SessionLastMs:
		s.SessionID, s.SessionLastMs = u.SessionID, u.AtMs
		clear(s.Counters)
		return true
	}
	return false
}

// pushRecent puts item at its time's place, dropping an older entry of the
// same item and anything past capacity.
func pushRecent(list []RecentItem, item string, atMs int64, capacity int) []RecentItem {
	for i, r := range list {
		if r.ItemID == item {
			if r.AtMs >= atMs {
				return list
			}
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	i := sort.Search(len(list), func(i int) bool { return list[i].AtMs < atMs })
	list = append(list, RecentItem{})
	copy(list[i+1:], list[i:])
	list[i] = RecentItem{item, atMs}
	if len(list) > capacity {
		list = list[:capacity]
	}
	return list
}
