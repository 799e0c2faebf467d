package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

func TestRecommendRequestFromFlagsAndJSON(t *testing.T) {
	f := recommendFlags{surface: "search", guest: "g1", query: "baking", views: "butter, ,cream", k: 5, exclude: "12"}
	req, err := f.request([]string{"whole milk"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Surface != "search" || req.GuestId != "g1" || len(req.RecentViews) != 2 || req.Filters.ExcludeIds[0] != "12" || req.Cart[0] != "whole milk" {
		t.Fatalf("request %v", req)
	}
	path := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(path, []byte(`{"surface": "cart", "cart": ["whole milk", "sugar"], "k": 3, "filters": {"categories": ["cheese"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f = recommendFlags{jsonReq: path}
	if req, err = f.request(nil); err != nil || req.K != 3 || len(req.Cart) != 2 || req.Filters.Categories[0] != "cheese" {
		t.Fatalf("json request %v, %v", req, err)
	}
	if err := os.WriteFile(path, []byte(`{"surfase": "cart"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.request(nil); err == nil || !strings.Contains(err.Error(), "surfase") {
		t.Fatalf("unknown JSON field: %v", err)
	}
}

func TestPrintRecommend(t *testing.T) {
	var out bytes.Buffer
	printRecommend(&out, &aislepb.RecommendRequest{Cart: []string{"whole milk"}}, &aislepb.RecommendResponse{
		Surface: "cart", ImpressionId: "abc", Models: []string{"cart-gnn:1"},
		Degraded: []*aislepb.Degradation{{Stage: "features", Reason: "unknown_guest"}},
		Items: []*aislepb.RecommendItem{{Name: "yogurt", Source: "session", Propensity: 1,
			Components: &aislepb.ScoreComponents{Score: 0.9, Relevance: 1}}},
	})
	for _, want := range []string{"surface cart  cart [whole milk]", "impression abc", "degraded: features/unknown_guest", "yogurt  session  0.900"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
