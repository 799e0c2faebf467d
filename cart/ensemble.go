package cart

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aisle-ai/aisle/catalog"
	"github.com/aisle-ai/aisle/repository"
)

// Ensemble parameters (config.yaml parameters, flat like every other): the
// A11 blend of MODELS.md, on when ensemble_sessions is set.
var ensembleParams = []string{"ensemble_sessions", "ensemble_weights", "ensemble_knn_k", "ensemble_cooccurrence"}

// ensemble is docs/evaluation.md A11 as scripts/eval/run_ensemble.py
// scores it: the GNN's scores, session kNN and co-occurrence (both fitted
// on the sessions file) each turned into normalised ranks over the
// catalogue, blended by weight; ties go to the more frequent item in the
// sessions, then the lower row. Read-only after newEnsemble.
type ensemble struct {
	weights [3]float64 // GNN, session kNN, co-occurrence
	knn     *sessionKNN
	cooc    *cooccurrence
	pop     []float64 // row → occurrences in the sessions file, the tie-break
	pool    sync.Pool // *blendScratch
}

// blendScratch is one request's working memory (a few KB for 169 items).
type blendScratch struct {
	knn    knnScratch
	cart   []int32
	comp   [3][]float64
	ranks  []float64
	order  []int
	blend  []float64
	sorted []int
}

// readEnsemble reads the ensemble_* parameters; nil when they are absent.

// maxEnsembleItems bounds the catalogue an ensemble loads: its co-occurrence
// matrix is n×n float64, 800 MB at 10,000 items (the Groceries cart model
// has 169); a larger catalogue is refused at load instead of exhausting
// memory.
const maxEnsembleItems = 10_000

func readEnsemble(dir string, items *catalog.Table, p map[string]string) (*ensemble, error) {
	name := p["ensemble_sessions"]
	if name == "" {
		for _, k := range ensembleParams[1:] {
			if _, ok := p[k]; ok {
				return nil, fmt.Errorf("parameter %s needs ensemble_sessions", k)
			}
		}
		return nil, nil
	}
	e := &ensemble{}
	ws := strings.Fields(strings.ReplaceAll(p["ensemble_weights"], ",", " "))
	if len(ws) != 3 {
		return nil, fmt.Errorf("parameter ensemble_weights %q: want three weights (gnn, session kNN, co-occurrence)", p["ensemble_weights"])
	}
	sum := 0.0
	for i, s := range ws {
		w, err := strconv.ParseFloat(s, 64)
		if err != nil || w < 0 || w > 1 || math.IsNaN(w) {
			return nil, fmt.Errorf("parameter ensemble_weights: %q is not a weight in [0, 1]", s)
		}
		e.weights[i], sum = w, sum+w
	}
	if math.Abs(sum-1) > 1e-9 {
		return nil, fmt.Errorf("parameter ensemble_weights %q: weights sum to %.4g, want 1", p["ensemble_weights"], sum)
	}
	k, err := strconv.Atoi(p["ensemble_knn_k"])
	if err != nil || k < 1 {
		return nil, fmt.Errorf("parameter ensemble_knn_k %q must be a positive integer", p["ensemble_knn_k"])
	}
	var cosine bool
	switch p["ensemble_cooccurrence"] {
	case "cosine":
		cosine = true
	case "count":
	default:
		return nil, fmt.Errorf("parameter ensemble_cooccurrence %q: want cosine or count", p["ensemble_cooccurrence"])
	}
	path, err := repository.InDir(dir, safeName(name))
	if err != nil {
		return nil, fmt.Errorf("ensemble sessions: %w", err)
	}
	sessions, err := readSessions(path, items)
	if err != nil {
		return nil, err
	}
	n := len(items.Items)
	if n > maxEnsembleItems {
		return nil, fmt.Errorf("ensemble: %d items; the co-occurrence matrix is dense (n² floats), so at most %d", n, maxEnsembleItems)
	}
	e.knn, e.cooc, e.pop = newSessionKNN(sessions, n, k), newCooccurrence(sessions, n, cosine), make([]float64, n)
	for _, s := range sessions {
		for _, r := range s {
			e.pop[r]++
		}
	}
	e.pool.New = newBlendScratch(n)
	return e, nil
}

// newBlendScratch returns the pool's constructor of scratch for n items.
func newBlendScratch(n int) func() any {
	return func() any {
		sc := &blendScratch{ranks: make([]float64, n), order: make([]int, n), blend: make([]float64, n), sorted: make([]int, n)}
		for c := range sc.comp {
			sc.comp[c] = make([]float64, n)
		}
		return sc
	}
}

// readSessions reads one session a line (item ids of the item table,
// space separated; '#' lines are comments) as item rows.
func readSessions(path string, items *catalog.Table) ([][]int32, error) {
	base := safeName(path)
	f, err := os.Open(path)
	if err != nil {
		// The PathError's own text would name the server's directory.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("ensemble sessions %s: %w", base, err)
	}
	defer f.Close()
	var out [][]int32
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		var rows []int32
		for _, s := range strings.Fields(t) {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("ensemble sessions %s line %d: %q is not an item id", base, line, s)
			}
			row, ok := items.RowOfID(id)
			if !ok {
				return nil, fmt.Errorf("ensemble sessions %s line %d: item %d is not in the item table", base, line, id)
			}
			rows = append(rows, int32(row))
		}
		out = append(out, rows)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ensemble sessions %s: %w", base, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ensemble sessions %s: no sessions", base)
	}
	return out, nil
}

// blend returns the rows best first by the blended normalised ranks, and
// the blend score per row. rows is the cart as the model saw it; gnn holds
// the model's scores. The slices are sc's; put sc back after using them.
func (e *ensemble) blend(gnn []float32, rows []int64, sc *blendScratch) (order []int, score []float64) {
	sc.cart = sc.cart[:0]
	for _, r := range rows {
		sc.cart = append(sc.cart, int32(r))
	}
	slices.Sort(sc.cart)
	sc.cart = slices.Compact(sc.cart)
	for i, s := range gnn {
		sc.comp[0][i] = float64(s)
	}
	e.knn.score(sc.cart, &sc.knn, sc.comp[1])
	e.cooc.score(sc.cart, sc.comp[2])
	clear(sc.blend)
	for c := range sc.comp {
		normRanks(sc.comp[c], sc.order, sc.ranks)
		w := e.weights[c]
		for i, r := range sc.ranks {
			// As numpy's w @ ranks (reference BLAS dgemv): a multiply, then
			// an add, per component in component order; the explicit
			// conversion keeps Go from fusing them into an FMA on any arch.
			sc.blend[i] += float64(w * r)
		}
	}
	for i := range sc.sorted {
		sc.sorted[i] = i
	}
	slices.SortFunc(sc.sorted, func(a, b int) int {
		switch {
		case sc.blend[a] != sc.blend[b]:
			return cmpDesc(sc.blend[a], sc.blend[b])
		case e.pop[a] != e.pop[b]:
			return cmpDesc(e.pop[a], e.pop[b])
		}
		return a - b
	})
	return sc.sorted, sc.blend
}

func cmpDesc(a, b float64) int {
	if a > b {
		return -1
	}
	return 1
}

// normRanks writes the normalised rank of each score to out: 0 the worst,
// 1 the best, tied scores sharing their average rank (run_ensemble.py
// norm_ranks). order is scratch of the same length.
func normRanks(s []float64, order []int, out []float64) {
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case s[a] < s[b]:
			return -1
		case s[a] > s[b]:
			return 1
		}
		return 0
	})
	den := float64(max(1, len(s)-1))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && s[order[hi]] == s[order[lo]] {
			hi++
		}
		cnt := float64(hi - lo)
		avg := float64(lo) + (cnt-1)/2
		for _, i := range order[lo:hi] {
			out[i] = avg / den
		}
		lo = hi
	}
}

// distinct returns the distinct rows of s, ascending, in a new slice.
func distinct(s []int32) []int32 {
	u := slices.Clone(s)
	slices.Sort(u)
	return slices.Compact(u)
}
