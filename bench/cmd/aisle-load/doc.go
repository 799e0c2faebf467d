// Command aisle-load is aisle's load-test suite: it starts `aisle serve` on
// loopback over a model repository, drives every RPC scenario from a
// compiled gRPC client at a range of concurrencies, scrapes the server's
// batch-size histogram and CPU time per point, stops the server and writes
// results.md, results.json and PNG plots (gonum.org/v1/plot).
//
// A run is a sequence of phases, one `aisle serve` process each, never two
// at once: the main server (ModelInfer, EmbedQuery, RecommendCart,
// Recommend, RecordEvents into the in-process store, the bench-encoder's
// sequence lengths); a server backed by a redis-server it starts on
// loopback for RecordEvents into Redis (skipped, with a log line, when no
// redis-server is found); and one server per catalogue size of the
// Recommend sweep, over a synthetic repository it writes under -out. Each
// phase stops its server (and Redis) before the next starts, and every
// child dies with this process (Pdeathsig). The servers get a fresh
// bearer token file; only RecordEvents, a mutating call, sends the token.
//
// It lives in its own module (bench/, replace → ..) so the server's module
// gains no plotting dependency. scripts/bench/load.sh builds and runs it;
// `scripts/bench/load.sh --smoke` is the seconds-long version CI runs; it
// fails (exit 1, naming the scenario, code and message) when a scenario's
// calls all fail or any call fails with a code other than
// RESOURCE_EXHAUSTED, the one refusal load shedding answers (checkPoints).
package main
