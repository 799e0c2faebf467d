package intent

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/aisle-ai/aisle/bm25"
)

// ErrFit reports names and labels the classifier cannot be fitted on.
var ErrFit = errors.New("intent: cannot fit")

// Classifier is a fitted naive-Bayes category classifier (package doc).
type Classifier struct {
	labels   []string
	logPrior []float64
	// logP[t] is log P(t | a) for every label a, by label index.
	logP map[string][]float64
	// exact maps a label's terms, joined by one space, to its index.
	exact map[string]int
}

// Fit fits the classifier on item names and their labels (same length);
// empty labels are skipped (an item without a category teaches nothing).
func Fit(names, labels []string) (*Classifier, error) {
	if len(names) != len(labels) {
		return nil, fmt.Errorf("%w: %d names, %d labels", ErrFit, len(names), len(labels))
	}
	set := map[string]bool{}
	for _, l := range labels {
		if l != "" {
			set[l] = true
		}
	}
	c := &Classifier{labels: make([]string, 0, len(set)), logP: map[string][]float64{}, exact: map[string]int{}}
	for l := range set {
		c.labels = append(c.labels, l)
	}
	slices.Sort(c.labels)
	if len(c.labels) == 0 {
		return nil, fmt.Errorf("%w: no labelled names", ErrFit)
	}
	col := make(map[string]int, len(c.labels))
	for j, l := range c.labels {
		col[l] = j
		// A label with no terms is no category query's name: keyed under
		// "" it would make every query without terms a category query.
		if t := bm25.Terms(l); len(t) > 0 {
			c.exact[strings.Join(t, " ")] = j
		}
	}
	counts := map[string][]float64{}
	total := make([]float64, len(c.labels))
	prior := make([]float64, len(c.labels))
	n := 0
	for i, name := range names {
		if labels[i] == "" {
			continue
		}
		j := col[labels[i]]
		prior[j]++
		n++
		for _, t := range bm25.Terms(name) {
			row := counts[t]
			if row == nil {
				row = make([]float64, len(c.labels))
				counts[t] = row
			}
			row[j]++
			total[j]++
		}
	}
	v := float64(len(counts))
	c.logPrior = make([]float64, len(c.labels))
	for j := range c.labels {
		c.logPrior[j] = math.Log(prior[j] / float64(n))
	}
	for t, row := range counts {
		lp := make([]float64, len(c.labels))
		for j, k := range row {
			lp[j] = math.Log((k + 1) / (total[j] + v))
		}
		c.logP[t] = lp
	}
	return c, nil
}

// Labels returns the categories in index order (sorted). The slice is
// shared: do not modify it.
func (c *Classifier) Labels() []string { return c.labels }

// logJoint is log P(a) + Σ log P(t | a) over text's known terms, in term
// order, and whether any term was known.
func (c *Classifier) logJoint(text string) ([]float64, bool) {
	s := slices.Clone(c.logPrior)
	known := false
	for _, t := range bm25.Terms(text) {
		lp, ok := c.logP[t]
		if !ok {
			continue
		}
		known = true
		for j := range s {
			s[j] += lp[j]
		}
	}
	return s, known
}

// Posterior returns P(a | query) by label index, and false when no query
// term is known (no intent: package doc). With exact, a query whose terms
// equal a label's is that label with probability 1.
func (c *Classifier) Posterior(query string, exact bool) ([]float64, bool) {
	if exact {
		if j, ok := c.IsLabel(query); ok {
			p := make([]float64, len(c.labels))
			p[j] = 1
			return p, true
		}
	}
	s, known := c.logJoint(query)
	if !known {
		return nil, false
	}
	lse := logSumExp(s)
	for j := range s {
		s[j] = math.Exp(s[j] - lse)
	}
	return s, true
}

// NamePosterior returns P(a | name) by label index: the prior when no term
// of name is known (unlike Posterior, which then has no answer: an item
// name always gets a distribution, a query may carry no intent).
func (c *Classifier) NamePosterior(name string) []float64 {
	s, _ := c.logJoint(name)
	lse := logSumExp(s)
	for j := range s {
		s[j] = math.Exp(s[j] - lse)
	}
	return s
}

// IsLabel reports whether query's terms equal a label's terms (the exact
// match of Posterior), and which label.
func (c *Classifier) IsLabel(query string) (int, bool) {
	j, ok := c.exact[strings.Join(bm25.Terms(query), " ")]
	return j, ok
}

// Predict returns the index of name's most probable label (ties: the
// first label).
func (c *Classifier) Predict(name string) int {
	s, _ := c.logJoint(name)
	best := 0
	for j := range s {
		if s[j] > s[best] {
			best = j
		}
	}
	return best
}

// logSumExp is log Σ exp(s) without overflow.
func logSumExp(s []float64) float64 {
	m := math.Inf(-1)
	for _, x := range s {
		m = max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	sum := 0.0
	for _, x := range s {
		sum += math.Exp(x - m)
	}
	return m + math.Log(sum)
}
