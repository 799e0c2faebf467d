package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func numCPU() int { return runtime.NumCPU() }

// plots draws, into out: one throughput-vs-latency curve per scenario
// (p50 and p99 against ok requests/s, one point per concurrency), the
// batch-size distribution of each batched model at its highest
// concurrency, server CPU per request against concurrency, and the
// sequence-length sweep. It returns the file names written.
func plots(out string, ss []*scenario, pts []point) ([]string, error) {
	var files []string
	save := func(p *plot.Plot, name string) error {
		files = append(files, name)
		return p.Save(6*vg.Inch, 4*vg.Inch, filepath.Join(out, name))
	}
	by := map[string][]point{}
	for _, p := range pts {
		by[p.Scenario] = append(by[p.Scenario], p)
	}
	var names, seqs []string
	events := map[string]bool{} // scenarios plotted against events/s
	for _, s := range ss {
		events[s.name] = s.units != nil
		if len(by[s.name]) == 0 {
			continue
		}
		switch {
		case s.items > 0: // catalogPlot
		case strings.HasPrefix(s.name, "seq-"):
			seqs = append(seqs, s.name)
		default:
			names = append(names, s.name)
		}
	}
	// Throughput vs p50/p99 (RecordEvents: events/s).
	for _, n := range names {
		p := plot.New()
		p.Title.Text = n + ": latency vs throughput (labels: concurrency)"
		p.X.Label.Text = "ok requests/s"
		if events[n] {
			p.X.Label.Text = "events/s of ok calls"
		}
		p.Y.Label.Text = "latency ms (log)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		var p50, p99 plotter.XYs
		var labels []string
		for _, q := range by[n] {
			if q.OK == 0 {
				continue
			}
			x := q.RPS
			if events[n] {
				x = q.EventsPerS
			}
			p50 = append(p50, plotter.XY{X: x, Y: math.Max(q.P50, 1e-3)})
			p99 = append(p99, plotter.XY{X: x, Y: math.Max(q.P99, 1e-3)})
			labels = append(labels, strconv.Itoa(q.Concurrency))
		}
		if len(p50) == 0 {
			continue
		}
		if err := plotutil.AddLinePoints(p, "p50", p50, "p99", p99); err != nil {
			return nil, err
		}
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: p99, Labels: labels})
		if err != nil {
			return nil, err
		}
		p.Add(l)
		if err := save(p, "latency-"+n+".png"); err != nil {
			return nil, err
		}
	}
	// Server CPU per request vs concurrency.
	{
		p := plot.New()
		p.Title.Text = "cost vs concurrency"
		p.X.Label.Text = "client concurrency (log)"
		p.Y.Label.Text = "server CPU µs per request (log)"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
		var args []any
		for _, n := range names {
			var xy plotter.XYs
			for _, q := range by[n] {
				if q.CPUPerReq > 0 {
					xy = append(xy, plotter.XY{X: float64(q.Concurrency), Y: q.CPUPerReq})
				}
			}
			if len(xy) > 0 {
				args = append(args, n, xy)
			}
		}
		if len(args) > 0 {
			if err := plotutil.AddLinePoints(p, args...); err != nil {
				return nil, err
			}
			p.Legend.Top = true
			if err := save(p, "cost-concurrency.png"); err != nil {
				return nil, err
			}
		}
	}
	// Sequence length: server CPU per request and p50.
	if len(seqs) > 0 {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("bench-encoder: cost vs sequence length (c=%d)", by[seqs[0]][0].Concurrency)
		p.X.Label.Text = "tokens per query"
		p.Y.Label.Text = "ms"
		var cpu, p50 plotter.XYs
		for _, n := range seqs {
			q := by[n][0]
			if q.OK == 0 {
				continue
			}
			l, _ := strconv.Atoi(strings.TrimPrefix(n, "seq-"))
			cpu = append(cpu, plotter.XY{X: float64(l), Y: q.CPUPerReq / 1e3})
			p50 = append(p50, plotter.XY{X: float64(l), Y: q.P50})
		}
		if err := plotutil.AddLinePoints(p, "server CPU per request", cpu, "p50 latency", p50); err != nil {
			return nil, err
		}
		p.Legend.Top = true
		if err := save(p, "cost-seqlen.png"); err != nil {
			return nil, err
		}
	}
	if f, err := catalogPlot(out, pts); err != nil {
		return nil, err
	} else if f != "" {
		files = append(files, f)
	}
	// Batch-size distribution per scenario with batches, at its highest concurrency.
	for _, n := range append(names, seqs...) {
		q := by[n][len(by[n])-1]
		if len(q.Batches) == 0 {
			continue
		}
		les := make([]string, 0, len(q.Batches))
		for le := range q.Batches {
			les = append(les, le)
		}
		slices.SortFunc(les, compareLE)
		var vals plotter.Values
		for _, le := range les {
			vals = append(vals, float64(q.Batches[le]))
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: batch sizes at c=%d (mean %.1f rows)", n, q.Concurrency, q.RowsPerBat)
		p.Y.Label.Text = "batches"
		p.X.Label.Text = "rows per batch (bucket upper bound)"
		bars, err := plotter.NewBarChart(vals, vg.Points(20))
		if err != nil {
			return nil, err
		}
		bars.Color = color.RGBA{R: 60, G: 110, B: 180, A: 255}
		p.Add(bars)
		p.NominalX(les...)
		if err := save(p, "batches-"+n+".png"); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// catalogPlot draws the catalogue sweep as cost-catalogue.png: p50 and p99
// (top) and OK requests/s (bottom) against catalogue items. It returns ""
// when the run has no catalogue points.
func catalogPlot(out string, pts []point) (string, error) {
	var cs []point
	for _, p := range pts {
		if p.Items > 0 && p.OK > 0 {
			cs = append(cs, p)
		}
	}
	if len(cs) == 0 {
		return "", nil
	}
	slices.SortStableFunc(cs, func(x, y point) int { return x.Items - y.Items })
	var p50, p99, rps plotter.XYs
	for _, q := range cs {
		x := float64(q.Items)
		p50 = append(p50, plotter.XY{X: x, Y: q.P50})
		p99 = append(p99, plotter.XY{X: x, Y: q.P99})
		rps = append(rps, plotter.XY{X: x, Y: q.RPS})
	}
	// Legends sit where the curves are not: latency rises to the right,
	// throughput falls.
	axes := func(p *plot.Plot, y string, left bool) {
		p.X.Label.Text = "catalogue items (log)"
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
		p.Y.Label.Text = y
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, left
	}
	lat := plot.New()
	lat.Title.Text = fmt.Sprintf("Recommend (search surface) vs catalogue size, c=%d", cs[0].Concurrency)
	axes(lat, "latency ms", true)
	if err := plotutil.AddLinePoints(lat, "p50", p50, "p99", p99); err != nil {
		return "", err
	}
	thr := plot.New()
	axes(thr, "ok requests/s", false)
	if err := plotutil.AddLinePoints(thr, "ok requests/s", rps); err != nil {
		return "", err
	}
	img := vgimg.New(6*vg.Inch, 7*vg.Inch)
	cv := plot.Align([][]*plot.Plot{{lat}, {thr}}, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Millimeter * 6}, draw.New(img))
	lat.Draw(cv[0][0])
	thr.Draw(cv[1][0])
	const name = "cost-catalogue.png"
	f, err := os.Create(filepath.Join(out, name))
	if err != nil {
		return "", err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return "", err
	}
	return name, f.Close()
}
