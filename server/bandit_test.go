package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/aisle-ai/aisle/bandit"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// startBandits serves a Bandits service over surface "home" (arms a, b)
// whose arm a has 100 pulls and 5 rewards.
func startBandits(t *testing.T) (aislepb.BanditsClient, *prometheus.Registry) {
	t.Helper()
	b, err := bandit.New(bandit.Config{Surfaces: []bandit.SurfaceConfig{{Name: "home", Arms: []string{"a", "b"}, Policy: bandit.Uniform}}},
		bandit.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := b.Add(testCtx(t), "home", bandit.Increment{Arm: "a", Pulls: 100, Rewards: 5, At: at}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	// ResetBandit is a mutating call: every call carries the token.
	auth, tok := tokenAuth(t)
	ts := startServerConfig(t, t.TempDir(), 0, Config{Auth: auth}, func(Repository) []Service { return []Service{NewBandits(b, reg)} },
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(withToken(ctx, tok), method, req, reply, cc, opts...)
		}))
	return aislepb.NewBanditsClient(ts.conn), reg
}

func TestBanditState(t *testing.T) {
	c, reg := startBandits(t)
	ctx := testCtx(t)
	resp, err := c.GetBanditState(ctx, &aislepb.GetBanditStateRequest{Surface: "home"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Policy != "uniform" || len(resp.Arms) != 2 {
		t.Fatalf("state = %v", resp)
	}
	a := resp.Arms[0]
	if a.Arm != "a" || a.Pulls != 100 || a.Rewards != 5 || a.Alpha != 6 || a.Beta != 96 || a.Probability != 0.5 {
		t.Errorf("arm a = %v", a)
	}

	want := `
# HELP aisle_bandit_arm_pulls Slots the arm filled (discounted when the surface has a half-life).
# TYPE aisle_bandit_arm_pulls gauge
aisle_bandit_arm_pulls{arm="a",surface="home"} 100
aisle_bandit_arm_pulls{arm="b",surface="home"} 0
# HELP aisle_bandit_arm_posterior_mean Posterior mean of the arm's reward rate.
# TYPE aisle_bandit_arm_posterior_mean gauge
aisle_bandit_arm_posterior_mean{arm="a",surface="home"} 0.058823529411764705
aisle_bandit_arm_posterior_mean{arm="b",surface="home"} 0.5
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "aisle_bandit_arm_pulls", "aisle_bandit_arm_posterior_mean"); err != nil {
		t.Error(err)
	}

	if _, err := c.ResetBandit(ctx, &aislepb.ResetBanditRequest{Surface: "home"}); err != nil {
		t.Fatal(err)
	}
	resp, err = c.GetBanditState(ctx, &aislepb.GetBanditStateRequest{Surface: "home"})
	if err != nil || resp.Arms[0].Pulls != 0 {
		t.Errorf("after reset: %v, %v", resp, err)
	}
}

func TestBanditBadRequests(t *testing.T) {
	c, _ := startBandits(t)
	ctx := testCtx(t)
	tests := []struct {
		surface string
		code    codes.Code
	}{
		{"", codes.InvalidArgument},
		{"checkout", codes.NotFound},
	}
	for _, tt := range tests {
		_, err := c.GetBanditState(ctx, &aislepb.GetBanditStateRequest{Surface: tt.surface})
		if status.Code(err) != tt.code || (tt.surface != "" && !strings.Contains(err.Error(), tt.surface)) {
			t.Errorf("GetBanditState(%q) = %v, want %v naming the surface", tt.surface, err, tt.code)
		}
		_, err = c.ResetBandit(ctx, &aislepb.ResetBanditRequest{Surface: tt.surface})
		if status.Code(err) != tt.code {
			t.Errorf("ResetBandit(%q) = %v, want %v", tt.surface, err, tt.code)
		}
	}
}

// downBackend is a bandit backend whose store is down.
type downBackend struct{}

func (downBackend) Surfaces() []string { return []string{"home"} }
func (downBackend) State(context.Context, string) (bandit.State, error) {
	return bandit.State{}, fmt.Errorf("load bandit %q: %w: redis: connection refused", "home", bandit.ErrUnavailable)
}
func (downBackend) Reset(context.Context, string) error {
	return fmt.Errorf("reset bandit surface %q: %w: redis: connection refused", "home", bandit.ErrUnavailable)
}

// A bandit store that is down is UNAVAILABLE (retry later), not INTERNAL.
func TestBanditStoreUnavailable(t *testing.T) {
	s := NewBandits(downBackend{}, nil)
	if _, err := s.GetBanditState(testCtx(t), &aislepb.GetBanditStateRequest{Surface: "home"}); status.Code(err) != codes.Unavailable {
		t.Errorf("GetBanditState: %v, want UNAVAILABLE", err)
	}
	if _, err := s.ResetBandit(testCtx(t), &aislepb.ResetBanditRequest{Surface: "home"}); status.Code(err) != codes.Unavailable {
		t.Errorf("ResetBandit: %v, want UNAVAILABLE", err)
	}
}
