package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReplayCmd(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"-source", "groceries", "-catalog", "../../models/catalog.jsonl", "-baskets", "../../testdata/groceries/groceries.csv",
		"-guests", "2", "-orders", "3", "-now", "2026-11-29T12:00:00Z"}
	if err := replayCmd(args, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var e struct{ EventID, GuestID, Type, Timestamp string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.EventID == "" || !strings.HasPrefix(e.GuestID, "groceries-") {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines++
	}
	if !strings.Contains(errOut.String(), "2 guests from groceries") || lines == 0 {
		t.Errorf("summary %q, %d lines", errOut.String(), lines)
	}
	for _, bad := range [][]string{{"-source", "nope"}, {"-now", "yesterday"}, {"-window", "1h"}} {
		if err := replayCmd(append(bad, "-catalog", "../../models/catalog.jsonl"), &out, &errOut); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
