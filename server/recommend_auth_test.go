package server

import (
	"testing"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// TestRecommendLogsOnlyAuthorized: Recommend is a scoring call, open to
// anyone, but its impression write is not: an unauthenticated caller gets
// its answer, flagged impression/not_authorized and without an impression
// id, and nothing is logged; a caller with a valid token is logged.
func TestRecommendLogsOnlyAuthorized(t *testing.T) {
	const tok = "recommend-writer"
	auth, err := NewAuthorizer(AuthConfig{TokenFile: writeFile(t, t.TempDir(), "tokens", []byte(tok+"\n"), 0)}, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	c, events := startRecommendConfig(t, nil, Config{Auth: auth}, false)
	ctx := testCtx(t)
	req := &aislepb.RecommendRequest{Surface: "cart", Cart: []string{"whole milk"}, SessionId: "s1"}

	anon, err := c.Recommend(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(anon.Items) != 10 || anon.ImpressionId != "" || !hasRung(anon, "impression", "not_authorized") {
		t.Fatalf("unauthenticated answer: %d items, impression id %q, degraded %v; want 10 items, no id, impression/not_authorized",
			len(anon.Items), anon.ImpressionId, anon.Degraded)
	}
	if n := len(events.Impressions()); n != 0 {
		t.Fatalf("%d impressions logged for an unauthenticated caller; want none", n)
	}

	// A wrong token is not refused (scoring is open) and not logged.
	if bad, err := c.Recommend(withToken(ctx, "not-the-token"), req); err != nil || bad.ImpressionId != "" {
		t.Fatalf("wrong token: %v, impression id %q", err, bad.GetImpressionId())
	}

	authed, err := c.Recommend(withToken(ctx, tok), req)
	if err != nil {
		t.Fatal(err)
	}
	imps := events.Impressions()
	if authed.ImpressionId == "" || hasRung(authed, "impression", "not_authorized") || len(imps) != 1 || imps[0].ID != authed.ImpressionId {
		t.Fatalf("authorized answer: impression id %q, degraded %v, logged %+v; want its impression logged", authed.ImpressionId, authed.Degraded, imps)
	}
}
