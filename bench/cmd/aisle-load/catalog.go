package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
)

// The catalogue sweep: Recommend on the search surface over synthetic
// catalogues of increasing size. The query source is the stage whose cost
// grows with the catalogue (the encoder's item index, exact below
// ann.DefaultFlatBelow and HNSW above, plus BM25 and the category-intent
// term over every catalogue name), so that is what the sweep serves; the
// cart model's item table stays the model's own 169 items (its scores
// output fixes it), so the cart and home surfaces' candidates do not grow.
//
// A size-n repository (build/bench/load/catalog-<n>/) is the served one's
// query-encoder and cart-gnn with the query encoder's item table, item
// vectors and catalog.jsonl grown to n items: item r ≥ 169 is a variant of
// real item r mod 169 (its name plus a made-up brand word, its aisle and
// department, its vector plus Gaussian noise, renormalised, the real
// item's economics), so the catalogue keeps the real one's categories and
// clusters (every category gets n/169 variants) and the held-out queries
// still find their items. Nothing of it is committed; every run rebuilds
// it from the repository it serves (about a second at 50k items).

// catalogNoise is the per-coordinate standard deviation of a variant's
// vector around its real item's (unit vectors of 128 coordinates: a
// variant keeps a cosine of about 0.8 to its item, nearer than most real
// items are to each other).
const catalogNoise = 0.06

// catalogFile is the catalogue's name in a repository (catalog.DefaultFile;
// not imported: the catalog package would bring its metrics dependency
// into this module).
const catalogFile = "catalog.jsonl"

// catalogRepo writes the size-n repository derived from the repository at
// base under out and returns its directory.
func catalogRepo(base, out string, n int) (string, error) {
	dir := filepath.Join(out, "catalog-"+strconv.Itoa(n))
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	for _, f := range []string{"query-encoder", "cart-gnn", "surfaces.yaml"} {
		if err := copyTree(filepath.Join(base, f), filepath.Join(dir, f)); err != nil {
			return "", err
		}
	}
	t, err := readTSV(filepath.Join(base, "query-encoder", "items.tsv"))
	if err != nil {
		return "", err
	}
	m, err := readMatrix(filepath.Join(base, "query-encoder", "items.f32"))
	if err != nil {
		return "", err
	}
	cat, header, err := readCatalogLines(filepath.Join(base, catalogFile))
	if err != nil {
		return "", err
	}
	nReal := len(t) - 1 // t[0] is the header
	if nReal < 1 || m.Rows != nReal || n < nReal {
		return "", fmt.Errorf("catalogue sweep: %d items in items.tsv, %d vectors, want 1 ≤ items ≤ %d", nReal, m.Rows, n)
	}
	rng := rand.New(rand.NewPCG(uint64(n), 169))
	tsv := &strings.Builder{}
	tsv.WriteString(strings.Join(t[0], "\t") + "\n")
	vec := make([]float32, 0, n*m.Dim)
	header["catalog_version"] = fmt.Sprintf("groceries-synthetic-%d", n)
	header["doc"] = fmt.Sprintf("SYNTHETIC load-test catalogue (aisle-load): the %d Groceries items plus variants (a made-up brand word, the real item's aisle, economics and noisy vector) up to %d items", nReal, n)
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	jl := &strings.Builder{}
	jl.Write(h)
	jl.WriteByte('\n')
	for r := range n {
		b := r % nReal
		if len(t[1+b]) < 2 {
			return "", fmt.Errorf("items.tsv row %d: %d columns, want id and name", 2+b, len(t[1+b]))
		}
		row := append([]string(nil), t[1+b]...)
		v := m.Row(b)
		if r >= nReal {
			row[0] = strconv.Itoa(r)
			row[1] = row[1] + " " + brandWord(r/nReal)
			w := make([]float32, m.Dim)
			var norm float64
			for i := range w {
				w[i] = v[i] + float32(rng.NormFloat64()*catalogNoise)
				norm += float64(w[i]) * float64(w[i])
			}
			for i := range w {
				w[i] /= float32(math.Sqrt(norm))
			}
			v = w
		}
		tsv.WriteString(strings.Join(row, "\t") + "\n")
		vec = append(vec, v...)
		line, ok := cat[t[1+b][0]]
		if !ok {
			return "", fmt.Errorf("catalogue sweep: item %s of items.tsv is not in %s", t[1+b][0], catalogFile)
		}
		if r >= nReal {
			line = maps.Clone(line)
			line["id"], line["name"] = row[0], row[1]
		}
		j, err := json.Marshal(line)
		if err != nil {
			return "", err
		}
		jl.Write(j)
		jl.WriteByte('\n')
	}
	qe := filepath.Join(dir, "query-encoder")
	if err := os.WriteFile(filepath.Join(qe, "items.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return "", err
	}
	if err := writeMatrix(filepath.Join(qe, "items.f32"), n, m.Dim, vec); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, catalogFile), []byte(jl.String()), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

// brandWord is the made-up brand of variant k (k ≥ 1): two or three
// syllables, distinct for the first 4,096 variants of an item.
func brandWord(k int) string {
	syl := []string{"ka", "lo", "mi", "ra", "te", "vu", "no", "si", "pe", "da", "fo", "gu", "be", "zi", "ho", "ma"}
	s := syl[k%16] + syl[(k/16)%16]
	if k >= 256 {
		s += syl[(k/256)%16]
	}
	return s
}

// readTSV reads a tab-separated file as rows of fields.
func readTSV(path string) ([][]string, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(lines))
	for i, l := range lines {
		out[i] = strings.Split(l, "\t")
	}
	return out, nil
}

// readCatalogLines reads catalog.jsonl as item lines by id and the header.
func readCatalogLines(path string) (map[string]map[string]any, map[string]any, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, nil, err
	}
	items := map[string]map[string]any{}
	var header map[string]any
	for i, l := range lines {
		var obj map[string]any
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			return nil, nil, fmt.Errorf("%s line %d: %w", path, i+1, err)
		}
		if _, ok := obj["catalog_version"]; ok {
			header = obj
			continue
		}
		id, _ := obj["id"].(string)
		items[id] = obj
	}
	if header == nil {
		header = map[string]any{}
	}
	return items, header, nil
}

// matrix is an embedding file's rows.
type matrix struct {
	Rows, Dim int
	Data      []float32
}

func (m *matrix) Row(r int) []float32 { return m.Data[r*m.Dim : (r+1)*m.Dim] }

// readMatrix reads an embedding file (catalog.ReadMatrix's format: the
// magic "AISLEEMB", rows and dim as little-endian uint32, then the
// float32s).
func readMatrix(path string) (*matrix, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 16 || string(raw[:8]) != "AISLEEMB" {
		return nil, fmt.Errorf("%s: not an embedding file", path)
	}
	m := &matrix{Rows: int(binary.LittleEndian.Uint32(raw[8:])), Dim: int(binary.LittleEndian.Uint32(raw[12:]))}
	if len(raw)-16 != m.Rows*m.Dim*4 {
		return nil, fmt.Errorf("%s: %d bytes of data, header says %dx%d float32", path, len(raw)-16, m.Rows, m.Dim)
	}
	m.Data = make([]float32, m.Rows*m.Dim)
	for i := range m.Data {
		m.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[16+i*4:]))
	}
	return m, nil
}

// writeMatrix writes an embedding file as readMatrix reads it.
func writeMatrix(path string, rows, dim int, data []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var hdr [16]byte
	copy(hdr[:], "AISLEEMB")
	binary.LittleEndian.PutUint32(hdr[8:], uint32(rows))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(dim))
	_, _ = w.Write(hdr[:])
	var b [4]byte
	for _, x := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		_, _ = w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// copyTree copies a file or a directory tree.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		o, err := os.Create(to)
		if err != nil {
			return err
		}
		if _, err := io.Copy(o, in); err != nil {
			o.Close()
			return err
		}
		return o.Close()
	})
}

// catalogScenario is Recommend on the search surface (held-out queries)
// against the size-n catalogue.
func catalogScenario(n int, d *heldOut) *scenario {
	var reqs []proto.Message
	for i, q := range d.queries {
		reqs = append(reqs, &aislepb.RecommendRequest{GuestId: fmt.Sprintf("g%d", i%97), Surface: "search", Query: q, K: 10})
	}
	return &scenario{name: "catalog-" + strconv.Itoa(n), rpc: fmt.Sprintf("Recommend surface search, %d-item catalogue", n),
		model: "query-encoder", reqs: reqs, call: recommend, items: n}
}
