package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// recommendCmd asks a running server for cart recommendations.
func recommendCmd(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("aisle recommend", flag.ContinueOnError)
	var client clientConfig
	client.addFlags(fs)
	model := fs.String("model", "", "cart model (default: the server's, cart-gnn)")
	k := fs.Int("k", 10, "number of items to recommend")
	timeout := fs.Duration("timeout", 10*time.Second, "request deadline")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: aisle recommend [flags] "item name" ["item name" ...]   (items in the order added)`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := client.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	resp, err := aislepb.NewPersonalizationClient(conn).RecommendCart(ctx, &aislepb.RecommendCartRequest{
		Model: *model, ItemNames: fs.Args(), K: int32(*k),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "cart: [%s] (%s v%s", strings.Join(fs.Args(), ", "), resp.Model, resp.ModelVersion)
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
