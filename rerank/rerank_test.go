package rerank

import (
	"strings"
	"testing"
)

// base is four candidates ranked a > b > c > d by relevance alone.
func base() []Candidate {
	return []Candidate{
		{ID: "a", Relevance: 0.9, Popularity: 1.0, Attrs: map[string]string{"category": "dairy", "stock": "5", "margin": "0.1", "shipping_cost": "0"}},
		{ID: "b", Relevance: 0.8, Popularity: 0.2, Attrs: map[string]string{"category": "dairy", "stock": "3", "margin": "0.1"}},
		{ID: "c", Relevance: 0.7, Popularity: 0.1, Attrs: map[string]string{"category": "bakery", "stock": "9", "margin": "0.1"}},
		{ID: "d", Relevance: 0.6, Popularity: 0.0, Attrs: map[string]string{"category": "produce", "margin": "0.1"}},
	}
}

func ids(items []Ranked) string {
	var s []string
	for _, it := range items {
		s = append(s, it.ID)
	}
	return strings.Join(s, ",")
}

// TestRankComponentsAndFilters: each objective term, filter and diversity
// rule changes the order of base() as specified.
func TestRankComponentsAndFilters(t *testing.T) {
	rel := Weights{Relevance: 1}
	cases := []struct {
		name    string
		cfg     Config
		req     Request
		edit    func([]Candidate)
		want    string
		dropped map[Reason]int
	}{
		{name: "relevance only", cfg: Config{Weights: rel}, want: "a,b,c,d"},
		{name: "affinity lifts the guest's category", cfg: Config{Weights: Weights{Relevance: 1, Affinity: 1}},
			req: Request{Affinities: Affinities{"category": {"bakery": 0.5}}}, want: "c,a,b,d"},
		{name: "margin lifts the profitable item", cfg: Config{Weights: Weights{Relevance: 1, Margin: 1}},
			edit: func(c []Candidate) { c[3].Attrs["margin"] = "0.5" }, want: "d,a,b,c"},
		{name: "shipping cost sinks the costly item", cfg: Config{Weights: Weights{Relevance: 1, ShippingCost: 1}},
			edit: func(c []Candidate) { c[0].Attrs["shipping_cost"] = "0.4" }, want: "b,c,d,a"},
		{name: "popularity debias", cfg: Config{Weights: Weights{Relevance: 1, Popularity: 0.2}}, want: "b,a,c,d"},
		{name: "out of stock dropped; unknown stock kept", cfg: Config{Weights: rel, Filters: Filters{OutOfStock: true}},
			edit: func(c []Candidate) { c[1].Attrs["stock"] = "0" }, want: "a,c,d", dropped: map[Reason]int{DroppedOutOfStock: 1}},
		{name: "out of stock kept when the filter is off", cfg: Config{Weights: rel},
			edit: func(c []Candidate) { c[1].Attrs["stock"] = "0" }, want: "a,b,c,d"},
		{name: "surface excludes a category", cfg: Config{Weights: rel, Filters: Filters{ExcludedCategories: []string{"dairy"}}},
			want: "c,d", dropped: map[Reason]int{DroppedCategory: 2}},
		{name: "request excludes a category", cfg: Config{Weights: rel}, req: Request{ExcludedCategories: []string{"produce"}},
			want: "a,b,c", dropped: map[Reason]int{DroppedCategory: 1}},
		{name: "in cart dropped", cfg: Config{Weights: rel, Filters: Filters{InCart: true}}, req: Request{InCart: map[string]bool{"a": true}},
			want: "b,c,d", dropped: map[Reason]int{DroppedInCart: 1}},
		{name: "in cart kept when the filter is off", cfg: Config{Weights: rel}, req: Request{InCart: map[string]bool{"a": true}}, want: "a,b,c,d"},
		{name: "excluded id dropped", cfg: Config{Weights: rel}, req: Request{Exclude: map[string]bool{"c": true}},
			want: "a,b,d", dropped: map[Reason]int{DroppedExcluded: 1}},
		{name: "category cap back-fills", cfg: Config{Weights: rel, Diversity: Diversity{MaxPerCategory: 1}}, want: "a,c,d,b"},
		{name: "mmr prefers a new category", cfg: Config{Weights: rel, Diversity: Diversity{MMRLambda: 0.5}}, want: "a,c,d,b"},
		{name: "mmr near 1 is the score order", cfg: Config{Weights: rel, Diversity: Diversity{MMRLambda: 0.99}}, want: "a,b,c,d"},
		{name: "k cuts", cfg: Config{Weights: rel}, req: Request{K: 2}, want: "a,b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			c := base()
			if tc.edit != nil {
				tc.edit(c)
			}
			res := Rank(&tc.cfg, tc.req, c)
			if got := ids(res.Items); got != tc.want {
				t.Fatalf("order %s, want %s", got, tc.want)
			}
			for why, n := range tc.dropped {
				if res.Dropped[why] != n {
					t.Errorf("dropped[%s] = %d, want %d", why, res.Dropped[why], n)
				}
			}
		})
	}
}

// TestComponentsExplainScore: the components add up to the score.
func TestComponentsExplainScore(t *testing.T) {
	cfg := Config{Weights: Weights{Relevance: 1, Affinity: 2, Margin: 3, ShippingCost: 4, Popularity: 5}}
	c := base()
	c[0].Attrs["shipping_cost"] = "0.05"
	res := Rank(&cfg, Request{Affinities: Affinities{"category": {"dairy": 0.3}}}, c[:1])
	got := res.Items[0].Components
	want := Components{Relevance: 0.9, Affinity: 0.3, Margin: 0.1, ShippingCost: 0.05, Popularity: 1}
	want.Score = 0.9 + 2*0.3 + 3*0.1 - 4*0.05 - 5*1
	if d := got.Score - want.Score; d > 1e-9 || d < -1e-9 || got.Affinity != want.Affinity || got.Margin != want.Margin {
		t.Fatalf("components %+v, want %+v", got, want)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Weights: Weights{Margin: -1}}, "weights.margin -1 must be"},
		{Config{Diversity: Diversity{MaxPerCategory: -2}}, "max_per_category -2"},
		{Config{Diversity: Diversity{MMRLambda: 1.5}}, "mmr_lambda 1.5"},
		{Config{Filters: Filters{ExcludedCategories: []string{""}}}, "excluded_categories[0] is empty"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// Every candidate filtered out leaves an empty result under either kind of
// diversity (MMR once indexed an empty slice).
func TestRankAllFilteredOut(t *testing.T) {
	for _, d := range []Diversity{{MMRLambda: 0.7}, {MaxPerCategory: 2}} {
		cfg := Config{Weights: Weights{Relevance: 1}, Diversity: d}
		res := Rank(&cfg, Request{ExcludedCategories: []string{"dairy", "bakery", "produce", "meat"}}, base())
		if len(res.Items) != 0 {
			t.Errorf("%+v: %d items, want none", d, len(res.Items))
		}
		if res := Rank(&cfg, Request{}, nil); len(res.Items) != 0 {
			t.Errorf("%+v: no candidates gave %d items", d, len(res.Items))
		}
	}
}

// TestNumbersOverAttrs checks that a candidate's parsed Numbers, when set,
// are what the score and the stock filter use, not its attribute strings
// (parsed per call before), and that without them the strings are parsed.
func TestNumbersOverAttrs(t *testing.T) {
	cfg := &Config{Weights: Weights{Margin: 1}, Filters: Filters{OutOfStock: true}}
	attrs := map[string]string{"margin": "0.9", "stock": "0"}
	res := Rank(cfg, Request{}, []Candidate{
		{ID: "parsed", Attrs: attrs, Numbers: &Numbers{Margin: 0.25, Stock: 2, HasStock: true}},
		{ID: "strings", Attrs: attrs},
	})
	if len(res.Items) != 1 || res.Items[0].ID != "parsed" || res.Items[0].Components.Margin != 0.25 {
		t.Fatalf("items %+v, want only \"parsed\" with margin 0.25", res.Items)
	}
	if res.Dropped[DroppedOutOfStock] != 1 {
		t.Errorf("dropped %v, want the string-stocked one out of stock", res.Dropped)
	}
	if n := ParseNumbers(attrs); n != (Numbers{Margin: 0.9, Stock: 0, HasStock: true}) {
		t.Errorf("ParseNumbers = %+v", n)
	}
}
