package server

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/grpc"

	"github.com/aisle-ai/aisle/cart"
	"github.com/aisle-ai/aisle/embedding"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	"github.com/aisle-ai/aisle/repository"
)

// Personalization serves aisle.v1.Personalization: query embeddings and
// cart recommendations on top of the model repository.
type Personalization struct {
	aislepb.UnimplementedPersonalizationServer
	repo Repository
	cfg  PersonalizationConfig
}

// PersonalizationConfig names the models used when a request leaves the
// model empty, and bounds request fields.
type PersonalizationConfig struct {
	DefaultEncoder     string
	DefaultRecommender string
	// Limits bound texts, carts and k (see limits.go).
	Limits Limits
	// Pipeline serves Recommend; nil answers UNIMPLEMENTED.
	Pipeline Pipeline
	// RecommendLogOpen logs every Recommend answer (impression events,
	// bandit pulls). Unset, only callers allowed to make mutating calls
	// are logged (a valid token or allowed mTLS identity, see auth.go):
	// Recommend is a scoring call, open by default, and an open write
	// would let anyone fill the event log and skew the bandits. For
	// private networks (aisle serve --recommend-log-open).
	RecommendLogOpen bool
}

// NewPersonalization returns the service over repo.
func NewPersonalization(repo Repository, cfg PersonalizationConfig) *Personalization {
	if cfg.DefaultEncoder == "" {
		cfg.DefaultEncoder = "query-encoder"
	}
	if cfg.DefaultRecommender == "" {
		cfg.DefaultRecommender = "cart-gnn"
	}
	cfg.Limits = cfg.Limits.withDefaults()
	return &Personalization{repo: repo, cfg: cfg}
}

// Register implements Service.
func (p *Personalization) Register(s grpc.ServiceRegistrar) {
	aislepb.RegisterPersonalizationServer(s, p)
}

// EmbedQuery embeds one or many texts with a text-encoder model.
func (p *Personalization) EmbedQuery(ctx context.Context, req *aislepb.EmbedQueryRequest) (*aislepb.EmbedQueryResponse, error) {
	if err := p.cfg.Limits.checkEmbed(req); err != nil {
		return nil, toStatus(err)
	}
	v, enc, err := p.encoder(req.Model, req.ModelVersion)
	if err != nil {
		return nil, toStatus(err)
	}
	defer v.Release()
	res, err := enc.Embed(ctx, v, req.Texts)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &aislepb.EmbedQueryResponse{Model: v.Name, ModelVersion: strconv.FormatInt(v.Number, 10)}
	for _, r := range res {
		resp.Embeddings = append(resp.Embeddings, &aislepb.Embedding{Values: r.Vector, TokenCount: int32(r.TokenCount), Truncated: r.Truncated})
	}
	if len(res) > 0 {
		resp.Dim = int32(len(res[0].Vector))
	}
	return resp, nil
}

func (p *Personalization) encoder(model, version string) (*repository.Version, *embedding.Encoder, error) {
	if model == "" {
		model = p.cfg.DefaultEncoder
	}
	v, err := p.repo.Get(model, version)
	if err != nil {
		return nil, nil, err
	}
	enc, ok := repository.PipelineOf[*embedding.Encoder](v)
	if !ok {
		v.Release()
		return nil, nil, fmt.Errorf("%w: %s has no tokenizer parameter", embedding.ErrNotEncoder, model)
	}
	return v, enc, nil
}

// RecommendCart recommends items for a cart with a cart-model (GNN).
func (p *Personalization) RecommendCart(ctx context.Context, req *aislepb.RecommendCartRequest) (*aislepb.RecommendCartResponse, error) {
	if err := p.cfg.Limits.checkCart(req); err != nil {
		return nil, toStatus(err)
	}
	v, rec, err := p.recommender(req.Model, req.ModelVersion)
	if err != nil {
		return nil, toStatus(err)
	}
	defer v.Release()
	res, err := rec.Recommend(ctx, v, cart.Cart{IDs: req.ItemIds, Names: req.ItemNames, K: int(req.K), Exclude: req.ExcludeIds})
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &aislepb.RecommendCartResponse{Model: v.Name, ModelVersion: strconv.FormatInt(v.Number, 10),
		UnknownItems: res.Unknown, Fallback: res.Fallback, CartItemsUsed: int32(res.Used)}
	for _, it := range res.Items {
		resp.Items = append(resp.Items, &aislepb.RecommendedItem{Id: it.ID, Name: it.Name, Score: it.Score})
	}
	return resp, nil
}

func (p *Personalization) recommender(model, version string) (*repository.Version, *cart.Recommender, error) {
	if model == "" {
		model = p.cfg.DefaultRecommender
	}
	v, err := p.repo.Get(model, version)
	if err != nil {
		return nil, nil, err
	}
	rec, ok := repository.PipelineOf[*cart.Recommender](v)
	if !ok {
		v.Release()
		return nil, nil, fmt.Errorf("%w: %s has no items parameter", cart.ErrNotRecommender, model)
	}
	return v, rec, nil
}
