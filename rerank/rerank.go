package rerank

import (
	"math"
	"sort"
	"strconv"
)

// Candidate is one item to rank.
type Candidate struct {
	ID string
	// Relevance is the source's score normalised to [0, 1].
	Relevance float64
	// Popularity in [0, 1], 1 = most popular.
	Popularity float64
	// Attrs are the item's catalogue attributes (category, stock, margin,
	// shipping_cost, ...); nil when the catalogue does not know the item.
	Attrs map[string]string
	// Source names the candidate source, carried through for the response.
	Source string
	// Numbers, when set, are Attrs' margin, shipping_cost and stock parsed
	// once (at catalogue or model load); when nil, Rank parses them from
	// Attrs. Parsing them per candidate and request cost three
	// strconv.ParseFloat calls each.
	Numbers *Numbers
}

// Numbers are an item's numeric attributes, parsed.
type Numbers struct {
	Margin, ShippingCost float64
	// Stock is the units available; HasStock is false for an item without
	// a stock attribute, which the out-of-stock filter keeps.
	Stock    float64
	HasStock bool
}

// ParseNumbers reads "margin", "shipping_cost" and "stock" from attrs as
// Rank does for a Candidate without Numbers: missing or malformed is 0.
func ParseNumbers(attrs map[string]string) Numbers {
	s, ok := attrs["stock"]
	return Numbers{Margin: number(attrs["margin"]), ShippingCost: number(attrs["shipping_cost"]),
		Stock: number(s), HasStock: ok}
}

func numbersOf(c *Candidate) Numbers {
	if c.Numbers != nil {
		return *c.Numbers
	}
	return ParseNumbers(c.Attrs)
}

// Affinities are a guest's affinities by attribute, then value: for example
// Affinities["category"]["dairy"] = 0.8.
type Affinities map[string]map[string]float64

// Request carries what one call adds to the surface's configuration.
type Request struct {
	Affinities Affinities
	// InCart and Exclude are item ids; ExcludedCategories add to the
	// surface's.
	InCart             map[string]bool
	Exclude            map[string]bool
	ExcludedCategories []string
	// K bounds the result; <= 0 returns every candidate that passes.
	K int
}

// Components are an item's score terms, before weighting, and the total.
type Components struct {
	Relevance, Affinity, Margin, ShippingCost, Popularity float64
	Score                                                 float64
}

// Ranked is one item of the result.
type Ranked struct {
	Candidate
	Components Components
}

// Reason names why a candidate was filtered out.
type Reason string

// Filter reasons, the keys of Result.Dropped.
const (
	DroppedOutOfStock = Reason("out_of_stock")
	DroppedCategory   = Reason("excluded_category")
	DroppedInCart     = Reason("in_cart")
	DroppedExcluded   = Reason("excluded")
)

// Result is the ranked slate and what the filters dropped.
type Result struct {
	Items   []Ranked
	Dropped map[Reason]int
}

// Rank filters, scores and diversifies cands under cfg (already validated).
func Rank(cfg *Config, req Request, cands []Candidate) Result {
	res := Result{Dropped: map[Reason]int{}}
	excludedCat := map[string]bool{}
	for _, c := range cfg.Filters.ExcludedCategories {
		excludedCat[c] = true
	}
	for _, c := range req.ExcludedCategories {
		excludedCat[c] = true
	}
	catAttr := cfg.CategoryAttr()
	kept := make([]Ranked, 0, len(cands))
	for _, c := range cands {
		n := numbersOf(&c)
		if why, drop := filtered(cfg, req, excludedCat, catAttr, c, n); drop {
			res.Dropped[why]++
			continue
		}
		kept = append(kept, Ranked{Candidate: c, Components: score(&cfg.Weights, req.Affinities, c, n)})
	}
	sort.SliceStable(kept, func(i, j int) bool {
		a, b := kept[i].Components.Score, kept[j].Components.Score
		if a != b {
			return a > b
		}
		return kept[i].ID < kept[j].ID
	})
	res.Items = diversify(cfg, catAttr, kept, req.K)
	return res
}

func filtered(cfg *Config, req Request, excludedCat map[string]bool, catAttr string, c Candidate, n Numbers) (Reason, bool) {
	switch {
	case req.Exclude[c.ID]:
		return DroppedExcluded, true
	case cfg.Filters.InCart && req.InCart[c.ID]:
		return DroppedInCart, true
	case excludedCat[c.Attrs[catAttr]] && c.Attrs[catAttr] != "":
		return DroppedCategory, true
	case cfg.Filters.OutOfStock && n.HasStock && n.Stock <= 0:
		return DroppedOutOfStock, true
	}
	return "", false
}

func score(w *Weights, aff Affinities, c Candidate, n Numbers) Components {
	comp := Components{
		Relevance:    c.Relevance,
		Margin:       n.Margin,
		ShippingCost: n.ShippingCost,
		Popularity:   c.Popularity,
	}
	for attr, byValue := range aff {
		if v, ok := c.Attrs[attr]; ok {
			comp.Affinity += byValue[v]
		}
	}
	comp.Score = w.Relevance*comp.Relevance + w.Affinity*comp.Affinity + w.Margin*comp.Margin -
		w.ShippingCost*comp.ShippingCost - w.Popularity*comp.Popularity
	return comp
}

// number parses an attribute value; missing or malformed is 0.
func number(s string) float64 {
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}
