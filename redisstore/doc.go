// Package redisstore keeps aisle's event log, guest features and bandit
// arm statistics in Redis 7.0 (Debian 12's): the only package that imports
// go-redis.
//
// # Keys and slots
//
// Guests are spread over Options.Partitions partitions by FNV-1a of the
// guest id. Every key of a partition carries the hash tag {g<p>}:
//
//	<prefix>:{g<p>}:events              the partition's stream (unfolded events)
//	<prefix>:{g<p>}:dead                dead letters of the partition
//	<prefix>:{g<p>}:fails               failures each pending message caused (hash)
//	<prefix>:{g<p>}:deadseen            dead-lettered events: dedupe key → dead letters, < 0 once folded (hash)
//	<prefix>:{g<p>}:rt:<guest>          real-time features (hash, guest.State fields)
//	<prefix>:{g<p>}:lt:<guest>          long-term features (hash)
//	<prefix>:{g<p>}:seen:<guest>|<id>   dedupe marker of a folded event (PX DedupeTTL)
//
// and, for bandits (Arms and Join, see arms.go and join.go), per surface
// and per shown slot:
//
//	<prefix>:bandit:{<surface>}          arm statistics (hash, arm → pulls:rewards:at_µs)
//	<prefix>:bandit-imp:<id>#<slot>      one shown slot for the join (hash, PX 2×window)
//
// so one guest's stream, features and dedupe keys share a Cluster slot,
// and the fold script can touch all of them atomically. The tag is the
// partition rather than the guest because consumer groups read streams:
// one stream per guest would need one blocking read per guest. Every
// process sharing a Redis must use the same Partitions.
//
// # Append (the Log)
//
// Append groups a batch by partition and runs append.lua once per
// partition, pipelined (one round trip): it refuses the whole partition's
// share with BACKLOG when the stream already holds MaxBacklog unfolded
// events, else XADDs them. The reply comes after Redis has written the AOF
// (appendfsync always: fsynced), which is what "acknowledged" means.
// CheckDurability reads appendonly, appendfsync and maxmemory-policy on
// every master (CONFIG GET) so that serve refuses a Redis that breaks
// this (durability.go).
// Redis 7.0 has no idempotent XADD, so a retried append may duplicate an
// event in the stream; the fold's dedupe absorbs it.
//
// # Fold (the workers)
//
// Worker runs one loop per partition in a consumer group: XAUTOCLAIM of
// messages idle longer than MinIdle (a dead worker's), then XREADGROUP of
// new ones, then one fold.lua call for the whole batch. fold.lua groups
// the batch by guest (stream order within a guest) and, per guest, in one
// atomic step: XRANGE of each message's id (a message no longer in the
// stream was folded or dead-lettered by another worker since this one
// read it, a slow worker or a raced claim: it is skipped, so a message is
// either folded or dead-lettered, never both;
// TestSlowFoldOfDeadLetteredMessage), SET NX of each event's dedupe key
// (PX DedupeTTL; an existing key is a duplicate, only acked), one HMGET of
// every field the events touch, the fold of each guest.Update in turn (the Lua twin of
// guest.State.Apply), one HSET (and HDEL) of the result and, when the
// features' TTL was last renewed more than Expiry/64 ago, PEXPIRE; then
// one XACK and one XDEL of every folded or duplicate message, and, while
// the partition has dead letters, the record of each folded event that
// has some (see Dead letters; through pcall, errors ignored, so a deadseen
// of the wrong type cannot fail the call after the guests' writes:
// TestWrongTypedRecordDoesNotFailFold). A guest's reads and its fold in memory run
// after its markers and through pcall: any error there (a key of the wrong
// type, a stored value that does not parse) deletes that guest's new
// markers and leaves its messages pending, while the rest of the batch
// folds (TestPoisonMessageIsDeadLettered, TestCorruptFeaturesLoseNoEvent:
// an error that escaped once ended the script with the markers written,
// and the retry acked the events as duplicates). A batch in which some messages fold
// does not make the loop back off: only a failed call or a batch of which
// no message folded does, so one guest's bad key does not stall its
// partition (TestPoisonGuestDoesNotStallPartition). Once a script has written, Redis does
// not refuse its later writes for maxmemory, so a guest's writes do not
// stop half-way. A worker killed at any point leaves each message either
// folded-and-acked or pending, never half-folded; a pending message is
// claimed again later and its dedupe key makes a second fold impossible
// (TestAggregateKilledMidBatch in cmd/aisle kills a real aisle aggregate
// process). XDEL keeps the stream at exactly the unfolded backlog
// (trimming by MINID instead would drop other consumers' pending messages).
//
// # Dead letters
//
// Only a failure the message itself causes moves it towards the
// dead-letter stream: a payload that does not decode (at once), or a fold
// refused for its data (WRONGTYPE, a Lua error; MaxFailures times,
// counted in the fails hash by dead.lua). Every other failure (network
// errors, timeouts, OOM under maxmemory, LOADING, BUSY, failover, ACL; see
// causedByMessage) is not counted: the message stays pending, the partition
// loop backs off (100 ms doubling to 5 s) and claim delivers it again, so
// a Redis outage never turns acknowledged events into dead letters
// (TestTransientFailuresDoNotDeadLetter). The delivery count Redis keeps
// is not used for this: it also counts redeliveries after outages. Claim
// only reports a message delivered more than 20×MaxFailures times (an
// Error log line a minute at most and StuckClaims; TestStuckMessageIsReported),
// so that a failure causedByMessage does not recognise is not retried
// forever unseen.
//
// A message is folded or dead-lettered, never both: fold.lua folds only
// messages still in the stream, and dead.lua deletes a message in the
// call that dead-letters it (TestSlowFoldOfDeadLetteredMessage). dead.lua
// also drops, as a duplicate, a message whose event's dedupe marker
// exists (a copy was folded while this one failed;
// TestChargeOfEventFoldedMeanwhile), or whose event deadseen records as
// folded since its earlier dead letters, the marker gone
// (TestChargeOfEventRecordedFolded). Otherwise the dead letter carries
// its event's dedupe key (field k) and deadseen counts it; dead.lua reads
// deadseen before any write, so a deadseen of the wrong type fails the
// charge with nothing written and the message pending (claimed again,
// and reported as stuck while the key stays wrong;
// TestDeadLetterRecordReadBeforeWrites). fold.lua, when
// it folds an event deadseen holds, turns its count negative: "folded
// since". That record lives as long as the dead letters, not DedupeTTL.
// A field that is not an integer (written by something else) reads as 0,
// "not folded since", in all three scripts: its dead letters are moved,
// never dropped, so nothing is lost (TestGarbageRecordFieldReadsAsZero).
//
// The dead-letter streams are never trimmed (XADD without MAXLEN: an entry
// is an acknowledged event, and trimming would lose it). Their size is
// bounded only by how many events fail (about the event's size, 200–400
// bytes, per entry, and one deadseen field); serve exports
// aisle_events_dead_letters, and anything above 0 should alert: fix the
// cause, then Redrive (aisle events redrive) moves the entries back to the
// live streams, each atomically and once, and drops those whose event was
// folded since they were dead-lettered, however long ago
// (TestRedriveSkipsEventFoldedSince). What remains is the dedupe's own
// bound: two copies of an event count twice when the later one is folded,
// or dead-lettered, more than DedupeTTL (default 15 min) after the earlier
// one was folded, since the marker is gone by then and nothing else links
// them. Dead letters without k (written before it existed) are moved
// whatever happened since. Delete dead letters only through Redrive: one
// deleted by hand (or redriven by an older binary) leaves its deadseen
// field behind, and the fold pays one HGET per folded event of the
// partition until Redrive next finds the partition's dead-letter stream
// empty and deletes its deadseen (TestRedriveDeletesLeftoverRecord).
//
// Cost (BENCHMARKS.md §6): about 30 µs of Redis CPU per event, most of it
// the Lua interpreter itself rather than the commands it calls; one call
// per batch and one read and write per guest cut 20–25% of it for
// guests with several events in a batch. The check that a message is
// still in the stream adds 2–4 µs per event (§6b).
//
// # Reads
//
// Snapshot pipelines HGETALL of the two feature hashes (same slot, so one
// node and one round trip) under the caller's deadline.
//
// # Failure
//
// Clients fail fast: dial 250 ms, pool wait 50 ms, no retries, and every
// call honours its context's deadline. A pool wait timeout is ErrOverloaded,
// anything else from the network ErrUnavailable.
package redisstore
