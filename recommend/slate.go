package recommend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aisle-ai/aisle/rerank"
)

// backfillMin is the fewest popular items a back-fill adds.
const backfillMin = 50

// rank filters and re-ranks the candidates; when fewer than k survive it
// back-fills from the popularity snapshot (rung candidates/backfill),
// skipping what skipID names, and ranks again. It fails only when no
// popular model was ever ready.
func (c *call) rank() ([]rerank.Ranked, error) {
	if c.popularity == nil {
		// Sources ran but no popularity is known: the back-fill has
		// nothing either. Only possible before the model first loads.
		if len(c.cands) == 0 {
			return nil, fmt.Errorf("%w: surface %s: model %s has never been ready", ErrNoCandidates, c.req.Surface, c.sf.popularModel())
		}
	}
	res := c.rerank()
	if len(res.Items) >= c.k || c.popularity == nil {
		return res.Items, nil
	}
	// Enough popular items that the filters leave k, without re-ranking a
	// whole catalogue's popularity table.
	limit := max(4*c.k, backfillMin)
	added := 0
	for i, id := range c.popularity.ids {
		if added == limit {
			break
		}
		if _, ok := c.cands[id]; ok || c.skipID(id) || !c.inCategories(id, c.popularity.attrs[i]) {
			continue
		}
		c.cands[id] = &cand{id: id, name: c.popularity.names[i], source: "backfill"}
		c.order = append(c.order, id)
		added++
	}
	if added > 0 {
		c.degrade(StageCandidates, "backfill")
		res = c.rerank()
	}
	return res.Items, nil
}

func (c *call) rerank() rerank.Result {
	cands := make([]rerank.Candidate, 0, len(c.order))
	for _, id := range c.order {
		cd := c.cands[id]
		var fallback map[string]string
		if c.popularity != nil {
			cd.pop = c.popularity.pop[id]
			fallback = c.popularity.attrsOf[id]
		}
		attrs, nums := c.item(id, fallback)
		if !c.inCategory(attrs) {
			continue
		}
		cands = append(cands, rerank.Candidate{ID: id, Relevance: cd.rel, Popularity: cd.pop, Attrs: attrs, Source: cd.source, Numbers: nums})
	}
	return rerank.Rank(&c.sf.Rerank, rerank.Request{
		Affinities: c.aff, InCart: c.inCart, Exclude: c.exclude,
		ExcludedCategories: c.req.Filters.ExcludeCategories,
		// Only the slate and the bandit's arms are used: diversity work
		// stops there instead of ordering every candidate.
		K: max(c.k, c.sf.Bandit.Arms),
	}, cands)
}

// slate picks the k items shown: the bandit's choice among the top arms
// when one is plugged in and the surface gives it arms, else the top k as
// ranked with propensity 1. A failing bandit falls back to the latter
// (rung slate/bandit_<reason>).
func (c *call) slate(ctx context.Context, ranked []rerank.Ranked) {
	k := min(c.k, len(ranked))
	picks := c.banditPicks(ctx, ranked, k)
	if picks == nil {
		picks = make([]Pick, k)
		for i := range picks {
			picks[i] = Pick{Arm: i, Propensity: 1}
		}
	}
	c.arms = make([]string, 0, len(picks))
	for _, pk := range picks {
		r := ranked[pk.Arm]
		c.arms = append(c.arms, cmp.Or(pk.Name, r.Source))
		c.resp.Items = append(c.resp.Items, Item{ID: r.ID, Name: c.cands[r.ID].name, Source: r.Source,
			Components: r.Components, Propensity: pk.Propensity})
	}
}

func (c *call) banditPicks(ctx context.Context, ranked []rerank.Ranked, k int) []Pick {
	b := c.p.opts.Bandit
	if b == nil || c.sf.Bandit.Arms == 0 || k == 0 {
		return nil
	}
	arms := make([]string, min(len(ranked), max(c.sf.Bandit.Arms, k)))
	sources := make([]string, len(arms))
	for i := range arms {
		arms[i], sources[i] = ranked[i].ID, ranked[i].Source
	}
	sctx, cancel := context.WithTimeout(ctx, c.sf.Budgets.Slate)
	defer cancel()
	picks, err := b.Slate(sctx, SlateRequest{Surface: c.req.Surface, GuestID: c.req.GuestID,
		ImpressionID: c.resp.ImpressionID, Arms: arms, Sources: sources, K: k})
	if err == nil {
		err = checkPicks(picks, len(arms), k)
	}
	if err != nil {
		c.degrade(StageSlate, "bandit_"+reasonOf(err))
		return nil
	}
	return picks
}

// checkPicks refuses a slate that would show an arm twice, an arm out of
// range or a propensity outside (0, 1]: logged propensities must be exact.
func checkPicks(picks []Pick, arms, k int) error {
	if len(picks) != k {
		return fmt.Errorf("bandit returned %d picks for k %d", len(picks), k)
	}
	seen := map[int]bool{}
	for _, p := range picks {
		if p.Arm < 0 || p.Arm >= arms || seen[p.Arm] || !(p.Propensity > 0 && p.Propensity <= 1) {
			return fmt.Errorf("bandit pick %+v is invalid for %d arms", p, arms)
		}
		seen[p.Arm] = true
	}
	return nil
}

// impression writes the answer to the event log under the slate budget; a
// failed write is flagged (rung impression/<reason>) but the answer stands.
func (c *call) impression(ctx context.Context) {
	log := c.p.opts.Events
	if log == nil {
		c.resp.ImpressionID = "" // nothing will ever hold it
		return
	}
	if c.req.NoImpression {
		// The id seeded the bandit's draw; it was never written, so no
		// feedback could cite it.
		c.resp.ImpressionID = ""
		c.degrade(StageImpression, "not_authorized")
		return
	}
	imp := Impression{ID: c.resp.ImpressionID, At: time.Now(), Surface: c.req.Surface,
		GuestID: c.req.GuestID, SessionID: c.req.SessionID}
	for i, it := range c.resp.Items {
		imp.Items = append(imp.Items, ImpressionItem{ID: it.ID, Position: i, Source: it.Source, Propensity: it.Propensity, Arm: c.arms[i]})
	}
	for _, r := range c.resp.Degraded {
		imp.Degraded = append(imp.Degraded, r.String())
	}
	ictx, cancel := context.WithTimeout(ctx, c.sf.Budgets.Slate)
	defer cancel()
	switch err := log.LogImpression(ictx, imp); {
	case errors.Is(err, ErrNotLogged):
		c.resp.ImpressionID = ""
	case err != nil:
		c.degrade(StageImpression, reasonOf(err))
	}
}
