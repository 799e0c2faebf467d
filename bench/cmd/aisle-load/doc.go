// Command aisle-load is aisle's load-test suite: it starts `aisle serve` on
// loopback over a model repository, drives every RPC scenario from a
// compiled gRPC client at a range of concurrencies, scrapes the server's
// batch-size histogram and CPU time per point, stops the server and writes
// results.md, results.json and PNG plots (gonum.org/v1/plot).
//
// It lives in its own module (bench/, replace → ..) so the server's module
// gains no plotting dependency. scripts/bench/load.sh builds and runs it;
// `scripts/bench/load.sh --smoke` is the seconds-long version CI runs.
package main
