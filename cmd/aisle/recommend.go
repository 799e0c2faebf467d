package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// recommendFlags are the flags of "aisle recommend".
type recommendFlags struct {
	client                                                                     clientConfig
	surface, guest, session, query, views, exclude, categories, jsonReq, model string
	k                                                                          int
	raw                                                                        bool
	timeout                                                                    time.Duration
}

// recommendCmd asks a running server for a surface's recommendations
// (Recommend) or, with --raw, for the cart model's own scores
// (RecommendCart).
func recommendCmd(ctx context.Context, args []string, w io.Writer) error {
	var f recommendFlags
	fs := flag.NewFlagSet("aisle recommend", flag.ContinueOnError)
	f.client.addFlags(fs)
	fs.StringVar(&f.surface, "surface", "cart", "surface of the server's surfaces.yaml: cart, search, home")
	fs.StringVar(&f.guest, "guest", "", "guest id (empty: anonymous)")
	fs.StringVar(&f.session, "session", "", "session id")
	fs.StringVar(&f.query, "query", "", "search query text")
	fs.StringVar(&f.views, "views", "", "recently viewed items, comma-separated ids or names, oldest first")
	fs.StringVar(&f.exclude, "exclude", "", "item ids never to return, comma-separated")
	fs.StringVar(&f.categories, "categories", "", "only these categories, comma-separated")
	fs.StringVar(&f.jsonReq, "json", "", `a RecommendRequest as JSON ("-" reads stdin); replaces the other request flags`)
	fs.IntVar(&f.k, "k", 0, "number of items (0: the surface's default)")
	fs.BoolVar(&f.raw, "raw", false, "the cart model's raw scores (RecommendCart) instead of the pipeline")
	fs.StringVar(&f.model, "model", "", "with --raw: cart model (default: the server's, cart-gnn)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "request deadline")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisle recommend [flags] ["cart item" ...]   (cart items by id or name, in the order added)`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := f.client.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	client := aislepb.NewPersonalizationClient(conn)
	if f.raw {
		return recommendRaw(ctx, client, f, fs.Args(), w)
	}
	req, err := f.request(fs.Args())
	if err != nil {
		return err
	}
	resp, err := client.Recommend(ctx, req)
	if err != nil {
		return err
	}
	printRecommend(w, req, resp)
	return nil
}

// request builds the RecommendRequest from --json or from the flags.
func (f *recommendFlags) request(cart []string) (*aislepb.RecommendRequest, error) {
	if f.jsonReq != "" {
		var data []byte
		var err error
		if f.jsonReq == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(f.jsonReq)
		}
		if err != nil {
			return nil, err
		}
		req := &aislepb.RecommendRequest{}
		if err := protojson.Unmarshal(data, req); err != nil {
			return nil, fmt.Errorf("--json: %w", err)
		}
		return req, nil
	}
	return &aislepb.RecommendRequest{GuestId: f.guest, SessionId: f.session, Cart: cart, RecentViews: split(f.views),
		Query: f.query, Surface: f.surface, K: int32(f.k),
		Filters: &aislepb.RecommendFilters{ExcludeIds: split(f.exclude), Categories: split(f.categories)}}, nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printRecommend writes the slate as a table with each item's reasons.
func printRecommend(w io.Writer, req *aislepb.RecommendRequest, resp *aislepb.RecommendResponse) {
	fmt.Fprintf(w, "surface %s  cart [%s]", resp.Surface, strings.Join(req.Cart, ", "))
	if req.Query != "" {
		fmt.Fprintf(w, "  query %q", req.Query)
	}
	fmt.Fprintf(w, "\nmodels %s", strings.Join(resp.Models, ", "))
	if resp.ImpressionId != "" { // none when the answer was not logged
		fmt.Fprintf(w, "  impression %s", resp.ImpressionId)
	}
	fmt.Fprintln(w)
	if len(resp.Degraded) > 0 {
		var rungs []string
		for _, d := range resp.Degraded {
			rungs = append(rungs, d.Stage+"/"+d.Reason)
		}
		fmt.Fprintf(w, "degraded: %s\n", strings.Join(rungs, ", "))
	}
	if len(resp.UnknownItems) > 0 {
		fmt.Fprintf(w, "unknown: %s\n", strings.Join(resp.UnknownItems, ", "))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\titem\tsource\tscore\trelevance\taffinity\tmargin\tshipping\tpopularity\tpropensity\t")
	for i, it := range resp.Items {
		c := it.Components
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", i+1, it.Name, it.Source,
			c.GetScore(), c.GetRelevance(), c.GetAffinity(), c.GetMargin(), c.GetShippingCost(), c.GetPopularity(), it.Propensity)
	}
	_ = tw.Flush()
}

// recommendRaw is the cart model's own top-k (RecommendCart), without the
// pipeline: what the model alone says.
func recommendRaw(ctx context.Context, client aislepb.PersonalizationClient, f recommendFlags, cart []string, w io.Writer) error {
	resp, err := client.RecommendCart(ctx, &aislepb.RecommendCartRequest{Model: f.model, ItemNames: cart, K: int32(max(f.k, 0))})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cart: [%s] (%s v%s", strings.Join(cart, ", "), resp.Model, resp.ModelVersion)
	if resp.Fallback {
		fmt.Fprint(w, ", popular fallback")
	}
	if len(resp.UnknownItems) > 0 {
		fmt.Fprintf(w, ", unknown: %s", strings.Join(resp.UnknownItems, ", "))
	}
	fmt.Fprintln(w, ")")
	for i, it := range resp.Items {
		fmt.Fprintf(w, "%3d. %-28s %8.4f\n", i+1, it.Name, it.Score)
	}
	return nil
}
