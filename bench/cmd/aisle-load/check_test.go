package main

import (
	"strings"
	"testing"
)

// TestCheckPoints: -smoke passes points whose only errors are refusals,
// and fails, naming the scenario, one whose calls all failed (refused
// included) or any call that failed with another code.
func TestCheckPoints(t *testing.T) {
	pt := func(s string, c, ok int, errs map[string]int) point {
		samples := map[string]string{}
		for code := range errs {
			samples[code] = code + " message"
		}
		return point{Scenario: s, Concurrency: c, OK: ok, Errors: errs, ErrorSample: samples}
	}
	for _, tc := range []struct {
		name string
		pts  []point
		want []string // substrings of the error; nil = pass
	}{
		{"all ok", []point{pt("embed", 1, 10, nil), pt("embed", 8, 30, nil)}, nil},
		{"some refused", []point{pt("embed", 1, 10, nil), pt("embed", 8, 30, map[string]int{"ResourceExhausted": 5})}, nil},
		{"every call refused", []point{pt("embed", 1, 0, map[string]int{"ResourceExhausted": 3}), pt("embed", 8, 0, map[string]int{"ResourceExhausted": 9}),
			pt("cart", 1, 5, nil)}, []string{"embed: none of its 12 calls succeeded"}},
		{"no calls at all", []point{pt("events", 1, 0, nil)}, []string{"events: none of its 0 calls succeeded"}},
		{"one internal error", []point{pt("recommend-search", 1, 10, nil), pt("recommend-search", 8, 29, map[string]int{"Internal": 1, "ResourceExhausted": 2})},
			[]string{`recommend-search c=8: 1 calls failed with Internal ("Internal message")`}},
		{"every call failed", []point{pt("events", 1, 0, map[string]int{"Unauthenticated": 4})},
			[]string{"events: none of its 4 calls succeeded", "events c=1: 4 calls failed with Unauthenticated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPoints(tc.pts)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant %q in it", err, w)
				}
			}
		})
	}
}
