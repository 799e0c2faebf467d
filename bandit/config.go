package bandit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Policy names how a surface chooses an arm for a slot.
type Policy string

// The policies. Thompson is the one to run; EpsilonGreedy and Uniform are
// the baselines it is measured against (and Uniform is the logging policy
// that makes any other policy evaluable off-policy).
const (
	Thompson      Policy = "thompson"
	EpsilonGreedy Policy = "epsilon_greedy"
	Uniform       Policy = "uniform"
)

// Defaults for a SurfaceConfig's empty fields and for Config.Refresh.
const (
	DefaultPolicy  = Thompson
	DefaultEpsilon = 0.1
	// DefaultRefresh is how long a decision may use statistics read from
	// the store before reading them again: one store read per surface per
	// second per replica, whatever the request rate, and Thompson
	// propensities integrated once per read.
	DefaultRefresh = time.Second
	// MaxSlots bounds the slots one decision fills.
	MaxSlots = 100
)

// Prior is the Beta(Alpha, Beta) prior of every arm's reward rate. Both
// are at least 1 (Beta(1, 1), uniform, by default), which keeps the
// posterior density bounded so that the propensity integral is exact to
// its stated bound. A prior near a known click rate (Alpha/(Alpha+Beta) ≈
// 0.005 with Alpha+Beta in the hundreds) stops early clicks from swinging
// the policy.
type Prior struct {
	Alpha float64 `yaml:"alpha"`
	Beta  float64 `yaml:"beta"`
}

// SurfaceConfig configures one surface: a place that shows a slate (the
// home page, the cart page) and the arms (candidate sources) that can fill
// its slots.
type SurfaceConfig struct {
	// Name identifies the surface in requests, the store and metrics.
	Name string `yaml:"name"`
	// Arms are the candidate sources, at least one, distinct.
	Arms []string `yaml:"arms"`
	// Policy is thompson (default), epsilon_greedy or uniform.
	Policy Policy `yaml:"policy"`
	// Prior is every arm's Beta prior; default Beta(1, 1).
	Prior Prior `yaml:"prior"`
	// Epsilon is epsilon_greedy's exploration probability in [0, 1];
	// default 0.1.
	Epsilon *float64 `yaml:"epsilon"`
	// HalfLife discounts old pulls and rewards for rewards that drift:
	// evidence loses half its weight every HalfLife. 0 (default) keeps
	// every observation at full weight.
	HalfLife time.Duration `yaml:"half_life"`
}

// Config configures the bandits of every surface.
type Config struct {
	Surfaces []SurfaceConfig `yaml:"surfaces"`
	// Refresh is how long decisions reuse statistics read from the store;
	// default DefaultRefresh. Rewards reach decisions at most this late.
	Refresh time.Duration `yaml:"refresh"`
}

// LoadConfig reads and validates a YAML configuration file. Unknown keys
// are errors: a misspelt setting must not be silently ignored.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read bandit config: %w", err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Validate fills defaults and checks every field.
func (c *Config) Validate() error {
	if c.Refresh < 0 {
		return fmt.Errorf("%w: refresh %v is negative", ErrInvalid, c.Refresh)
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	seen := map[string]bool{}
	for i := range c.Surfaces {
		s := &c.Surfaces[i]
		if err := s.Validate(); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("%w: surface %q configured twice", ErrInvalid, s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// Validate fills defaults and checks every field.
func (s *SurfaceConfig) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("%w: surface without a name", ErrInvalid)
	}
	if len(s.Arms) == 0 {
		return fmt.Errorf("%w: surface %q has no arms", ErrInvalid, s.Name)
	}
	seen := map[string]bool{}
	for _, a := range s.Arms {
		if a == "" || seen[a] {
			return fmt.Errorf("%w: surface %q: arm %q is empty or repeated", ErrInvalid, s.Name, a)
		}
		seen[a] = true
	}
	switch s.Policy {
	case "":
		s.Policy = DefaultPolicy
	case Thompson, EpsilonGreedy, Uniform:
	default:
		return fmt.Errorf("%w: surface %q: policy %q is not thompson, epsilon_greedy or uniform", ErrInvalid, s.Name, s.Policy)
	}
	if s.Prior == (Prior{}) {
		s.Prior = Prior{Alpha: 1, Beta: 1}
	}
	if !(s.Prior.Alpha >= 1 && s.Prior.Beta >= 1) || math.IsInf(s.Prior.Alpha+s.Prior.Beta, 0) {
		return fmt.Errorf("%w: surface %q: prior Beta(%g, %g) needs both parameters finite and at least 1", ErrInvalid, s.Name, s.Prior.Alpha, s.Prior.Beta)
	}
	if s.Epsilon == nil {
		e := DefaultEpsilon
		s.Epsilon = &e
	}
	if !(*s.Epsilon >= 0 && *s.Epsilon <= 1) {
		return fmt.Errorf("%w: surface %q: epsilon %g is outside [0, 1]", ErrInvalid, s.Name, *s.Epsilon)
	}
	if s.HalfLife < 0 {
		return fmt.Errorf("%w: surface %q: half_life %v is negative", ErrInvalid, s.Name, s.HalfLife)
	}
	return nil
}

// epsilon is the configured exploration probability.
func (s *SurfaceConfig) epsilon() float64 {
	if s.Epsilon == nil {
		return DefaultEpsilon
	}
	return *s.Epsilon
}
