package catalog

// This file reads the item tables and item-embedding matrices the offline
// exporters write (format in docs/CONVENTIONS.md): a TSV of ids and names,
// and a float32 matrix whose row r belongs to TSV line r.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ErrFormat reports a malformed item table or embedding file.
var ErrFormat = errors.New("malformed catalog file")

// magic opens every embedding file.
const magic = "AISLEEMB"

// Item is one catalogue entry.
type Item struct {
	ID   int64
	Name string
}

// Table is an item table: row r of the model's item axis is Items[r].
type Table struct {
	Items  []Item
	byID   map[int64]int
	byName map[string]int
}

// ReadTable reads <prefix>.tsv: a header starting "id\tname", then one item
// per line.
func ReadTable(path string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &Table{byID: map[int64]int{}, byName: map[string]int{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 0; sc.Scan(); line++ {
		cols := strings.Split(sc.Text(), "\t")
		if line == 0 {
			if len(cols) < 2 || cols[0] != "id" || cols[1] != "name" {
				return nil, fmt.Errorf("%w: %s: header must start with id<TAB>name", ErrFormat, path)
			}
			continue
		}
		if len(cols) < 2 {
			return nil, fmt.Errorf("%w: %s line %d: want id<TAB>name", ErrFormat, path, line+1)
		}
		id, err := strconv.ParseInt(cols[0], 10, 64)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%w: %s line %d: id %q", ErrFormat, path, line+1, cols[0])
		}
		if _, dup := t.byID[id]; dup {
			return nil, fmt.Errorf("%w: %s line %d: duplicate id %d", ErrFormat, path, line+1, id)
		}
		t.byID[id] = len(t.Items)
		t.byName[NormName(cols[1])] = len(t.Items)
		t.Items = append(t.Items, Item{ID: id, Name: cols[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return t, nil
}

// RowOfID returns the row of an item id.
func (t *Table) RowOfID(id int64) (int, bool) {
	r, ok := t.byID[id]
	return r, ok
}

// RowOfName returns the row of an item name, ignoring case and surrounding
// space.
func (t *Table) RowOfName(name string) (int, bool) {
	r, ok := t.byName[NormName(name)]
	return r, ok
}

// NormName is an item name as RowOfName matches it: lower-cased, without
// surrounding space. Other indexes by name (recommend's new items) use it
// so that a name finds an item the same way everywhere.
func NormName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Matrix is a row-major float32 matrix of item embeddings.
type Matrix struct {
	Rows, Dim int
	Data      []float32
}

// Row returns row r.
func (m *Matrix) Row(r int) []float32 { return m.Data[r*m.Dim : (r+1)*m.Dim] }

// ReadMatrix reads <prefix>.f32.
func ReadMatrix(path string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hdr [16]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:8]) != magic {
		return nil, fmt.Errorf("%w: %s: missing %s header", ErrFormat, path, magic)
	}
	rows := int(binary.LittleEndian.Uint32(hdr[8:]))
	dim := int(binary.LittleEndian.Uint32(hdr[12:]))
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) != rows*dim*4 {
		return nil, fmt.Errorf("%w: %s: %d bytes of data, header says %dx%d float32", ErrFormat, path, len(raw), rows, dim)
	}
	m := &Matrix{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	for i := range m.Data {
		m.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[i*4:]))
	}
	return m, nil
}
