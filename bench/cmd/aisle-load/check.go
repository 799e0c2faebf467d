package main

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
)

// refusal is the one error code a load run expects: load shedding (the
// adaptive concurrency limit, a full queue, the event log's backlog) is
// RESOURCE_EXHAUSTED (server/status.go). Every other code is a fault of
// the server or of the suite's requests.
var refusal = codes.ResourceExhausted.String()

// checkPoints is -smoke's verdict on the measured points: an error naming
// every scenario none of whose calls succeeded (at any concurrency) and
// every call that failed with a code other than a refusal, with the
// server's message, so a run where the calls fail cannot pass. The
// warm-up is not checked: its calls are the same as the points'.
func checkPoints(pts []point) error {
	var order []string
	ok := map[string]int{}
	calls := map[string]int{}
	var faults []string
	for _, p := range pts {
		if _, seen := calls[p.Scenario]; !seen {
			order = append(order, p.Scenario)
		}
		ok[p.Scenario] += p.OK
		calls[p.Scenario] += p.OK + sum(p.Errors)
		bad := make([]string, 0, len(p.Errors))
		for c := range p.Errors {
			if c != refusal {
				bad = append(bad, c)
			}
		}
		slices.Sort(bad)
		for _, c := range bad {
			faults = append(faults, fmt.Sprintf("%s c=%d: %d calls failed with %s (%q)", p.Scenario, p.Concurrency, p.Errors[c], c, p.ErrorSample[c]))
		}
	}
	var none []string
	for _, s := range order {
		if ok[s] == 0 {
			none = append(none, fmt.Sprintf("%s: none of its %d calls succeeded", s, calls[s]))
		}
	}
	if bad := append(none, faults...); len(bad) > 0 {
		return fmt.Errorf("smoke failed (only %s refusals are expected; results.md lists the errors):\n  %s", refusal, strings.Join(bad, "\n  "))
	}
	return nil
}
