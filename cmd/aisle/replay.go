package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/replay"
)

// replayCmd writes a click-stream replayed from recorded orders (package
// replay) as JSON lines, for `aisle events send`.
func replayCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aisle replay", flag.ContinueOnError)
	def := replay.DefaultOptions(time.Time{})
	source := fs.String("source", "auto", "auto (instacart when its data is present, else groceries), instacart or groceries")
	data := fs.String("data", defaultDataDir(), "shared data folder holding instacart/ (default $AISLE_DATA or ../shared/data)")
	cat := fs.String("catalog", filepath.Join("models", catalog.DefaultFile), "groceries: catalogue giving item ids and aisles")
	baskets := fs.String("baskets", filepath.Join("testdata", "groceries", "groceries.csv"), "groceries: baskets file")
	guests := fs.Int("guests", 20, "groceries: synthetic guests")
	orders := fs.Int("orders", 10, "groceries: orders per synthetic guest")
	users := fs.Int("users", 0, "instacart: replay only the first N users (0: all 64)")
	dairy := fs.Bool("dairy", false, "replay one dairy-heavy guest only (instacart: the real user with the most dairy; groceries: a guest of dairy-heavy baskets)")
	seed := fs.Uint64("seed", def.Seed, "random seed")
	now := fs.String("now", "", "RFC 3339 end of the history (default: the current time)")
	fs.DurationVar(&def.Window, "window", def.Window, "compress each guest's history into this span before -now (0: recorded spacing)")
	fs.Float64Var(&def.SearchShare, "search-share", def.SearchShare, "share of bought items found through a search")
	fs.Float64Var(&def.BrowseViews, "browse-views", def.BrowseViews, "mean views of items not bought, per item bought")
	fs.Float64Var(&def.RemoveShare, "remove-share", def.RemoveShare, "share of sessions that add and then remove an item")
	out := fs.String("out", "-", "output file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt := def
	opt.Seed, opt.Now = *seed, time.Now().UTC().Truncate(time.Second)
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("-now: %w", err)
		}
		opt.Now = t
	}
	if err := opt.Validate(); err != nil {
		return err
	}
	instacart := filepath.Join(*data, "instacart")
	if *source == "auto" {
		*source = "groceries"
		if _, err := os.Stat(filepath.Join(instacart, "users_sample", "orders.csv")); err == nil {
			*source = "instacart"
		}
	}
	src, note, err := loadReplaySource(*source, instacart, *cat, *baskets, *guests, *orders, *users, *dairy, *seed)
	if err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	jw := replay.NewWriter(w)
	if err := replay.Generate(src, opt, jw.Write); err != nil {
		return err
	}
	if err := jw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "replay: %d events, %d guests from %s%s, up to %s\n", jw.Count(), len(src.Guests), src.Name, note, opt.Now.Format(time.RFC3339))
	return nil
}

func loadReplaySource(source, instacart, cat, baskets string, guests, orders, users int, dairy bool, seed uint64) (*replay.Source, string, error) {
	switch source {
	case "instacart":
		src, err := replay.Instacart(instacart)
		if err != nil {
			return nil, "", err
		}
		if dairy {
			g, share, ok := src.DairyGuest(5)
			if !ok {
				return nil, "", fmt.Errorf("no Instacart user with 5 orders")
			}
			return src, fmt.Sprintf(" (dairy-heavy: %s, %.0f%% of %d orders' items dairy or eggs)", g.ID, 100*share, len(g.Orders)), nil
		}
		if users > 0 && users < len(src.Guests) {
			src.Guests = src.Guests[:users]
		}
		return src, " (item ids are Instacart product ids: serve the Instacart catalogue)", nil
	case "groceries":
		c, err := catalog.Load(cat)
		if err != nil {
			return nil, "", err
		}
		if dairy {
			src, err := replay.GroceriesDairy(baskets, c, orders, seed)
			if err != nil {
				return nil, "", err
			}
			return src, fmt.Sprintf(" (dairy-heavy: %.0f%% of items dairy or eggs)", 100*src.DairyShare(src.Guests[0])), nil
		}
		src, err := replay.Groceries(baskets, c, guests, orders, seed)
		return src, "", err
	}
	return nil, "", fmt.Errorf("unknown -source %q (auto, instacart or groceries)", source)
}

func defaultDataDir() string {
	if d := os.Getenv("AISLE_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "shared", "data")
}
