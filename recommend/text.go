package recommend

import (
	"context"
	"fmt"

	"github.com/aisle-ai/aisle/bm25"
	"github.com/aisle-ai/aisle/intent"
)

// TextIndex is the text half of hybrid search over one catalogue: BM25 over
// the item names and the category-intent classifier (package intent)
// fitted on the names and their categories, with each item's predicted
// category. aisle serve builds one per loaded catalogue; it implements Text.
// It is immutable and safe for concurrent use.
type TextIndex struct {
	byID  map[string]int
	names *bm25.Index
	// cls is nil when no item has a category: no intent term.
	cls *intent.Classifier
	// predicted[d] is the classifier's category of name d. Hybrid search
	// reads the prediction, not the catalogue's category, so that serving
	// computes what MODELS.md measures (docs/evaluation.md A5: the
	// evaluation may not read the categories that define relevance). On a
	// catalogue the classifier was fitted on, the two mostly agree.
	predicted []int
	// posterior[d*L+a] is P(a | name d), L labels: the soft intent's item
	// side (Instacart: 49,688 × 134 float64, 53 MB).
	posterior []float64
}

// NewTextIndex indexes a catalogue given as parallel slices: item ids,
// names and categories ("" when unknown).
func NewTextIndex(ids, names, categories []string) (*TextIndex, error) {
	if len(ids) != len(names) || len(ids) != len(categories) {
		return nil, fmt.Errorf("text index: %d ids, %d names, %d categories", len(ids), len(names), len(categories))
	}
	ix, err := bm25.New(names, bm25.Params{})
	if err != nil {
		return nil, err
	}
	x := &TextIndex{byID: make(map[string]int, len(ids)), names: ix}
	for d, id := range ids {
		x.byID[id] = d
	}
	labelled := false
	for _, c := range categories {
		labelled = labelled || c != ""
	}
	if !labelled {
		return x, nil
	}
	if x.cls, err = intent.Fit(names, categories); err != nil {
		return nil, err
	}
	x.predicted = make([]int, len(names))
	x.posterior = make([]float64, 0, len(names)*len(x.cls.Labels()))
	for d, n := range names {
		x.predicted[d] = x.cls.Predict(n)
		x.posterior = append(x.posterior, x.cls.NamePosterior(n)...)
	}
	return x, nil
}

// Text implements the pipeline's Text: every name's BM25 score for query,
// the intent posterior (a query equal to a category name is that category)
// and whether query is a category name, for TextScores to look up by id.
func (x *TextIndex) Text(ctx context.Context, query string) (*TextScores, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &TextScores{ix: x, lexical: x.names.Scores(query, nil)}
	for _, v := range s.lexical {
		s.best = max(s.best, v)
	}
	if x.cls != nil {
		s.posterior, _ = x.cls.Posterior(query, true)
		_, s.category = x.cls.IsLabel(query)
	}
	return s, nil
}

// TextScores are one query's text signals over a catalogue.
type TextScores struct {
	ix        *TextIndex
	lexical   []float64 // by name position
	best      float64
	posterior []float64 // nil: the query carries no intent
	category  bool
}

// CategoryQuery reports whether the query's terms equal a category name's:
// hybrid search routes it to the category weights.
func (s *TextScores) CategoryQuery() bool { return s.category }

// BestLexical is the query's best BM25 score over the catalogue (0 when no
// name shares a term with it).
func (s *TextScores) BestLexical() float64 { return s.best }

// Scores returns id's BM25 score and intent score, 0 for an id the
// catalogue lacks or a query without intent. The intent is hard,
// P(id's predicted category | query), or soft,
// Σ_a P(a | query) · P(a | id's name).
func (s *TextScores) Scores(id string, soft bool) (lexical, intent float64) {
	d, ok := s.ix.byID[id]
	if !ok {
		return 0, 0
	}
	lexical = s.lexical[d]
	switch {
	case s.posterior == nil:
	case soft:
		row := s.ix.posterior[d*len(s.posterior) : (d+1)*len(s.posterior)]
		for a, p := range s.posterior {
			intent += p * row[a]
		}
	default:
		intent = s.posterior[s.ix.predicted[d]]
	}
	return lexical, intent
}
