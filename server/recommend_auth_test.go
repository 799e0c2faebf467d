package server

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

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

// TestCallerMayWriteOnce: Recommend's handler reads the auth
// interceptor's verdict instead of checking the credentials again (with
// Scoring set that was a second token check per call): revoking the token
// while the call runs does not change it, and only Recommend gets it.
func TestCallerMayWriteOnce(t *testing.T) {
	const recommendMethod = "/aisle.v1.Personalization/Recommend"
	dir := t.TempDir()
	for _, scoring := range []bool{false, true} {
		file := writeFile(t, dir, "tokens", []byte("tok\n"), 0)
		auth, err := NewAuthorizer(AuthConfig{TokenFile: file, Scoring: scoring}, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		clk := &fakeClock{t: time.Now()}
		auth.tokens.now = clk.now
		ic := auth.unaryInterceptor(nil)
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer tok"))
		var got []bool
		stamp := time.Duration(0)
		h := func(ctx context.Context, _ any) (any, error) {
			// Revoked and the file due for a look: a second check here
			// would say no.
			stamp += time.Hour
			writeFile(t, dir, "tokens", []byte("# revoked\n"), stamp)
			clk.advance(tokenCheckEvery)
			got = append(got, callerMayWrite(ctx))
			stamp += time.Hour
			writeFile(t, dir, "tokens", []byte("tok\n"), stamp)
			clk.advance(tokenCheckEvery)
			return nil, nil
		}
		for _, m := range []string{recommendMethod, "/aisle.v1.Personalization/EmbedQuery"} {
			if _, err := ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: m}, h); err != nil {
				t.Fatalf("scoring %v, %s: %v", scoring, m, err)
			}
		}
		if !scoring {
			if _, err := ic(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: recommendMethod}, h); err != nil {
				t.Fatal(err)
			}
		}
		want := []bool{true, false}
		if !scoring {
			want = append(want, false)
		}
		if !slices.Equal(got, want) {
			t.Errorf("scoring %v: callerMayWrite for Recommend, EmbedQuery (and Recommend without a token) = %v, want %v", scoring, got, want)
		}
	}
}
