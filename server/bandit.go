package server

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/aisle-ai/aisle/bandit"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// BanditBackend is what the Bandits service and its metrics need: the
// configured surfaces, their state and a reset. *bandit.Bandits is one.
// Implementations are safe for concurrent use.
type BanditBackend interface {
	Surfaces() []string
	State(ctx context.Context, surface string) (bandit.State, error)
	Reset(ctx context.Context, surface string) error
}

// Bandits serves aisle.v1.Bandits: each surface's bandit state, and its
// reset (a mutating call, which the authorization interceptor guards).
type Bandits struct {
	aislepb.UnimplementedBanditsServer
	b BanditBackend
}

// NewBandits returns the service over b and registers its per-arm metrics
// on reg (nil: no metrics).
func NewBandits(b BanditBackend, reg prometheus.Registerer) *Bandits {
	if reg != nil {
		reg.MustRegister(banditCollector{b: b})
	}
	return &Bandits{b: b}
}

// Register implements Service.
func (s *Bandits) Register(r grpc.ServiceRegistrar) { aislepb.RegisterBanditsServer(r, s) }

// GetBanditState returns a surface's arm statistics and probabilities.
func (s *Bandits) GetBanditState(ctx context.Context, req *aislepb.GetBanditStateRequest) (*aislepb.GetBanditStateResponse, error) {
	if req.Surface == "" {
		return nil, toStatus(fmt.Errorf("%w: empty surface", bandit.ErrInvalid))
	}
	st, err := s.b.State(ctx, req.Surface)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &aislepb.GetBanditStateResponse{Surface: st.Surface, Policy: string(st.Policy), ProbabilityError: st.ProbError,
		AtUnixMs: st.At.UnixMilli(), HalfLifeSeconds: st.HalfLife.Seconds()}
	for _, a := range st.Arms {
		resp.Arms = append(resp.Arms, &aislepb.ArmState{Arm: a.Arm, Pulls: a.Pulls, Rewards: a.Rewards,
			Alpha: a.Posterior.Alpha, Beta: a.Posterior.Beta, PosteriorMean: a.Posterior.Mean(), Probability: a.Probability})
	}
	return resp, nil
}

// ResetBandit forgets a surface's pulls and rewards.
func (s *Bandits) ResetBandit(ctx context.Context, req *aislepb.ResetBanditRequest) (*aislepb.ResetBanditResponse, error) {
	if req.Surface == "" {
		return nil, toStatus(fmt.Errorf("%w: empty surface", bandit.ErrInvalid))
	}
	if err := s.b.Reset(ctx, req.Surface); err != nil {
		return nil, toStatus(err)
	}
	return &aislepb.ResetBanditResponse{Surface: req.Surface}, nil
}

// banditCollector exports each arm's statistics at scrape time, read from
// the shared store, so every replica reports the same (shared) values.
// Labels are bounded by configuration: surface and arm names.
type banditCollector struct{ b BanditBackend }

// banditScrapeTimeout bounds the store reads of one scrape.
const banditScrapeTimeout = 2 * time.Second

var (
	banditPullsDesc = prometheus.NewDesc("aisle_bandit_arm_pulls",
		"Slots the arm filled (discounted when the surface has a half-life).", []string{"surface", "arm"}, nil)
	banditRewardsDesc = prometheus.NewDesc("aisle_bandit_arm_rewards",
		"Slots of the arm that earned a click or add-to-cart (discounted like pulls).", []string{"surface", "arm"}, nil)
	banditMeanDesc = prometheus.NewDesc("aisle_bandit_arm_posterior_mean",
		"Posterior mean of the arm's reward rate.", []string{"surface", "arm"}, nil)
	banditProbDesc = prometheus.NewDesc("aisle_bandit_arm_probability",
		"Probability that the policy puts the arm in a slot.", []string{"surface", "arm"}, nil)
	banditUpDesc = prometheus.NewDesc("aisle_bandit_state_up",
		"1 if the surface's statistics could be read at this scrape, else 0.", []string{"surface"}, nil)
)

// Describe implements prometheus.Collector.
func (banditCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{banditPullsDesc, banditRewardsDesc, banditMeanDesc, banditProbDesc, banditUpDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A surface whose state cannot be
// read reports aisle_bandit_state_up 0 instead of failing the scrape.
func (c banditCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), banditScrapeTimeout)
	defer cancel()
	for _, surface := range c.b.Surfaces() {
		st, err := c.b.State(ctx, surface)
		if err != nil {
			ch <- prometheus.MustNewConstMetric(banditUpDesc, prometheus.GaugeValue, 0, surface)
			continue
		}
		ch <- prometheus.MustNewConstMetric(banditUpDesc, prometheus.GaugeValue, 1, surface)
		for _, a := range st.Arms {
			ch <- prometheus.MustNewConstMetric(banditPullsDesc, prometheus.GaugeValue, a.Pulls, surface, a.Arm)
			ch <- prometheus.MustNewConstMetric(banditRewardsDesc, prometheus.GaugeValue, a.Rewards, surface, a.Arm)
			ch <- prometheus.MustNewConstMetric(banditMeanDesc, prometheus.GaugeValue, a.Posterior.Mean(), surface, a.Arm)
			ch <- prometheus.MustNewConstMetric(banditProbDesc, prometheus.GaugeValue, a.Probability, surface, a.Arm)
		}
	}
}
