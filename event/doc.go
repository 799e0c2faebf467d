// Package event defines aisle's click-stream events, their validation and
// the Log they are appended to before they are folded into guest features.
//
// # Stages
//
// A batch arrives (server), each event is validated on its own by a
// Validator (per-event reasons; good events in the same batch go on), the
// valid ones are appended to a Log, and each gets its own outcome: nil once
// it is durably stored, ErrOverloaded or ErrUnavailable when it is not.
// Aggregation into features (package guest) reads the log afterwards, so an
// accepted event is visible in features a few milliseconds later, not at
// once.
//
// # Limits
//
// Every size is bounded (Limits): events per batch, item ids per event,
// bytes per id, query and attribute. Ids are restricted to printable
// characters without whitespace or the separators '|', ';' and '@', because
// the feature stores use those to pack values. A timestamp more than MaxSkew
// in the future or older than Retention is rejected: the first would
// freeze decay, the second would be expired by the stores on arrival.
//
// # Durability
//
// What "durably stored" means is the Log's: the Redis log acknowledges after
// redis-server has written the XADD to its append-only file (run it with
// appendonly yes and appendfsync always for the guarantee to survive power
// loss, everysec for it to survive a crash of the process only; aisle
// serve checks both and maxmemory-policy noeviction at start,
// redisstore.Store.CheckDurability). MemoryLog
// is not durable: it holds events in one process until they are folded.
//
// # Back-pressure
//
// No Log queues without bound. MemoryLog refuses when its buffer is full
// (ErrOverloaded); the Redis log refuses when a partition's backlog of
// unfolded events passes its cap and fails fast when Redis does not answer.
// Callers map ErrOverloaded to RESOURCE_EXHAUSTED and ErrUnavailable to
// UNAVAILABLE.
//
// This package imports nothing of aisle's.
package event
