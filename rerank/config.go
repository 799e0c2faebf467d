package rerank

import (
	"errors"
	"fmt"
	"math"
)

// ErrConfig reports an invalid re-rank configuration.
var ErrConfig = errors.New("invalid rerank config")

// Weights are the objective's coefficients; zero switches a term off.
type Weights struct {
	Relevance    float64 `yaml:"relevance"`
	Affinity     float64 `yaml:"affinity"`
	Margin       float64 `yaml:"margin"`
	ShippingCost float64 `yaml:"shipping_cost"`
	Popularity   float64 `yaml:"popularity"`
}

// Filters are the hard filters a surface always applies.
type Filters struct {
	// OutOfStock drops items whose "stock" attribute is ≤ 0.
	OutOfStock bool `yaml:"out_of_stock"`
	// InCart drops items already in the cart.
	InCart bool `yaml:"in_cart"`
	// ExcludedCategories are never shown on the surface.
	ExcludedCategories []string `yaml:"excluded_categories"`
}

// Diversity shapes the slate after scoring.
type Diversity struct {
	// MaxPerCategory caps items of one category before the rest; 0 = no cap.
	MaxPerCategory int `yaml:"max_per_category"`
	// MMRLambda in (0, 1] trades score (1) against novelty; 0 or 1 = off.
	MMRLambda float64 `yaml:"mmr_lambda"`
}

// Config is one surface's re-rank configuration.
type Config struct {
	Weights   Weights   `yaml:"weights"`
	Filters   Filters   `yaml:"filters"`
	Diversity Diversity `yaml:"diversity"`
	// CategoryAttribute names the attribute holding an item's category for
	// filters and diversity; "" means "category".
	CategoryAttribute string `yaml:"category_attribute"`
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	w := c.Weights
	for _, x := range []struct {
		name string
		v    float64
	}{{"relevance", w.Relevance}, {"affinity", w.Affinity}, {"margin", w.Margin},
		{"shipping_cost", w.ShippingCost}, {"popularity", w.Popularity}} {
		if math.IsNaN(x.v) || math.IsInf(x.v, 0) || x.v < 0 {
			return fmt.Errorf("%w: weights.%s %v must be a finite number >= 0 (the sign is in the objective)", ErrConfig, x.name, x.v)
		}
	}
	if c.Diversity.MaxPerCategory < 0 {
		return fmt.Errorf("%w: diversity.max_per_category %d must be >= 0", ErrConfig, c.Diversity.MaxPerCategory)
	}
	if l := c.Diversity.MMRLambda; math.IsNaN(l) || l < 0 || l > 1 {
		return fmt.Errorf("%w: diversity.mmr_lambda %v must be in [0, 1]", ErrConfig, l)
	}
	for i, cat := range c.Filters.ExcludedCategories {
		if cat == "" {
			return fmt.Errorf("%w: filters.excluded_categories[%d] is empty", ErrConfig, i)
		}
	}
	return nil
}

// CategoryAttr returns the attribute holding an item's category.
func (c *Config) CategoryAttr() string {
	if c.CategoryAttribute == "" {
		return "category"
	}
	return c.CategoryAttribute
}
