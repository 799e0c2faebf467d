package server

import (
	"context"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/recommend"
)

// Pipeline runs the end-to-end recommendation pipeline;
// *recommend.Pipeline is one.
type Pipeline interface {
	Recommend(ctx context.Context, req recommend.Request) (*recommend.Response, error)
}

// Recommend fills a surface with the recommendation pipeline.
func (p *Personalization) Recommend(ctx context.Context, req *aislepb.RecommendRequest) (*aislepb.RecommendResponse, error) {
	if p.cfg.Pipeline == nil {
		return nil, toStatus(errNoPipeline)
	}
	r := recommendRequest(req)
	r.NoImpression = !p.cfg.RecommendLogOpen && !callerMayWrite(ctx)
	res, err := p.cfg.Pipeline.Recommend(ctx, r)
	if err != nil {
		return nil, toStatus(err)
	}
	return recommendResponse(res), nil
}

func recommendRequest(req *aislepb.RecommendRequest) recommend.Request {
	f := req.GetFilters()
	return recommend.Request{
		GuestID: req.GuestId, SessionID: req.SessionId, Cart: req.Cart, RecentViews: req.RecentViews,
		Query: req.Query, Surface: req.Surface, K: int(req.K),
		Filters: recommend.Filters{ExcludeIDs: f.GetExcludeIds(), ExcludeCategories: f.GetExcludeCategories(), Categories: f.GetCategories()},
	}
}

func recommendResponse(res *recommend.Response) *aislepb.RecommendResponse {
	out := &aislepb.RecommendResponse{ImpressionId: res.ImpressionID, Surface: res.Surface,
		UnknownItems: res.Unknown, Models: res.Models}
	for _, it := range res.Items {
		c := it.Components
		out.Items = append(out.Items, &aislepb.RecommendItem{Id: it.ID, Name: it.Name, Source: it.Source,
			Propensity: it.Propensity, Components: &aislepb.ScoreComponents{Relevance: c.Relevance, Affinity: c.Affinity,
				Margin: c.Margin, ShippingCost: c.ShippingCost, Popularity: c.Popularity, Score: c.Score}})
	}
	for _, d := range res.Degraded {
		out.Degraded = append(out.Degraded, &aislepb.Degradation{Stage: d.Stage, Reason: d.Reason})
	}
	return out
}
