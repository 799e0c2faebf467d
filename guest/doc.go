// Package guest turns click-stream events into per-guest features: decayed
// affinities for item attributes, recent items, the live cart and session
// counters, merged with long-term preferences computed offline.
//
// # Schema
//
// A guest's real-time State is a set of fields (the Redis store keeps them
// as one hash, see fields.go):
//
//   - a|<signal>|<attribute>|<value> = "<score>:<last ms>": a decayed count
//     per signal (view, click, add_to_cart, purchase) and attribute value
//     (category, aisle, department, brand, flavour, size);
//   - r = the recent items, newest first, capped (Config.RecentItems);
//   - c|<item> = quantity in the live cart;
//   - sid, slast, s|<counter> = the current session and its counters
//     (views, clicks, add_to_carts, purchases, searches, promoted_views,
//     cat|<category> clicks);
//   - n = events folded, u = newest event time.
//
// Long-term preferences use the same a|purchase|... fields in a second
// record per guest, written by bulk load (aisle features load).
//
// # Decay on read
//
// A decayed count is stored as (score s, time t0) and never rewritten by a
// sweep: its value at time t is s·2^(−(t−t0)/h) with h the signal's half-life.
// Folding an event at time t adds 1 decayed to the later of t and t0, so the
// order of folding does not change the result (two workers may fold one
// guest's events in either order). Read time merges
//
//	score = RealTimeWeight·Σ_signal weight·decayed + LongTermWeight·longterm
//
// # Exactly once
//
// Every fold is keyed by (guest, event id): a store remembers folded ids for
// Config.DedupeTTL and a redelivered or resent event is a no-op. The Redis
// store does the dedupe, the fold and the stream XACK in one Lua script, so
// a worker that dies between them leaves nothing half-done.
//
// # Reads
//
// Reader is the ranking path's reader: one round trip, a per-call timeout of
// a few milliseconds, and on a slow or down store a "no features" result
// (Features.Degraded) counted in aisle_guest_features_degraded_total, so
// ranking degrades instead of waiting.
package guest
