package recommend

import (
	"cmp"
	"context"
	"fmt"
	"slices"

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
	ids   []string // by name position
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
	// members[a] are the names predicted in category a, by position: the
	// intent candidate list's domain (docs/evaluation.md A7).
	members [][]int32
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
	x := &TextIndex{byID: make(map[string]int, len(ids)), ids: ids, names: ix}
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
	x.members = make([][]int32, len(x.cls.Labels()))
	for d, n := range names {
		x.predicted[d] = x.cls.Predict(n)
		x.posterior = append(x.posterior, x.cls.NamePosterior(n)...)
		x.members[x.predicted[d]] = append(x.members[x.predicted[d]], int32(d))
	}
	return x, nil
}

// Text implements the pipeline's Text: the BM25 score of every name
// sharing a term with query (sparse: no per-name allocation), the intent
// posterior (a query equal to a category name is that category) and whether
// query is a category name, for TextScores to look up by id.
func (x *TextIndex) Text(ctx context.Context, query string) (*TextScores, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &TextScores{ix: x, lexical: x.names.Matches(query, nil)}
	for _, h := range s.lexical {
		s.best = max(s.best, h.Score)
	}
	if x.cls != nil {
		// A category name is one-hot; anything else the classifier's
		// posterior (Posterior(query, true), tokenizing the query once).
		if j, ok := x.cls.IsLabel(query); ok {
			s.posterior, s.category = make([]float64, len(x.cls.Labels())), true
			s.posterior[j] = 1
		} else {
			s.posterior, _ = x.cls.Posterior(query, false)
		}
	}
	return s, nil
}

// TextScores are one query's text signals over a catalogue.
type TextScores struct {
	ix        *TextIndex
	lexical   []bm25.Hit // the names sharing a term with the query, by position
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
	if i, found := slices.BinarySearchFunc(s.lexical, d, func(h bm25.Hit, d int) int { return cmp.Compare(h.Doc, d) }); found {
		lexical = s.lexical[i].Score
	}
	return lexical, s.intent(d, soft)
}

// intent is name d's intent term (Scores).
func (s *TextScores) intent(d int, soft bool) float64 {
	switch {
	case s.posterior == nil:
		return 0
	case soft:
		row := s.ix.posterior[d*len(s.posterior) : (d+1)*len(s.posterior)]
		in := 0.0
		for a, p := range s.posterior {
			in += p * row[a]
		}
		return in
	default:
		return s.posterior[s.ix.predicted[d]]
	}
}
