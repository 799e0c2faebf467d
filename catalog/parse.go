package catalog

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"unicode/utf8"
)

// Limits of the catalogue file. A line is one item of a few hundred bytes;
// 64 KiB leaves room for long names without letting one line eat memory.
const (
	maxLine     = 64 << 10
	maxIDLen    = 64
	maxNameLen  = 256
	maxAttrLen  = 128
	headerField = "catalog_version"
)

// fieldKind says how a key of an item line is decoded and where it goes.
type fieldKind struct {
	required bool
	set      func(p *Product, raw json.RawMessage) error
}

func strField(max int, dst func(*Product) *string) func(*Product, json.RawMessage) error {
	return func(p *Product, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("want a string")
		}
		if err := checkText(s, max); err != nil {
			return err
		}
		*dst(p) = s
		return nil
	}
}

func numField(lo, hi float64, dst func(*Product) *float64) func(*Product, json.RawMessage) error {
	return func(p *Product, raw json.RawMessage) error {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return fmt.Errorf("want a number")
		}
		if f < lo || f > hi || math.IsNaN(f) {
			return fmt.Errorf("%v out of range [%v, %v]", f, lo, hi)
		}
		*dst(p) = f
		return nil
	}
}

// fields are the keys an item line may carry (package doc).
var fields = map[string]fieldKind{
	"id": {true, func(p *Product, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("want a string")
		}
		if !validID(s) {
			return fmt.Errorf("%q is not 1-%d bytes of [A-Za-z0-9._:-]", s, maxIDLen)
		}
		p.ID = s
		return nil
	}},
	"name":          {true, strField(maxNameLen, func(p *Product) *string { return &p.Name })},
	"category":      {false, strField(maxAttrLen, func(p *Product) *string { return &p.Category })},
	"aisle":         {false, strField(maxAttrLen, func(p *Product) *string { return &p.Aisle })},
	"department":    {false, strField(maxAttrLen, func(p *Product) *string { return &p.Department })},
	"brand":         {false, strField(maxAttrLen, func(p *Product) *string { return &p.Brand })},
	"flavour":       {false, strField(maxAttrLen, func(p *Product) *string { return &p.Flavour })},
	"size":          {false, strField(maxAttrLen, func(p *Product) *string { return &p.Size })},
	"price":         {true, numField(0, math.MaxFloat64, func(p *Product) *float64 { return &p.Price })},
	"margin":        {false, numField(-1, 1, func(p *Product) *float64 { return &p.Margin })},
	"shipping_cost": {false, numField(0, math.MaxFloat64, func(p *Product) *float64 { return &p.ShippingCost })},
	"stock": {true, func(p *Product, raw json.RawMessage) error {
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
			return fmt.Errorf("want a non-negative integer, got %s", raw)
		}
		p.Stock = n
		return nil
	}},
	"on_promotion": {false, func(p *Product, raw json.RawMessage) error {
		if err := json.Unmarshal(raw, &p.OnPromotion); err != nil {
			return fmt.Errorf("want true or false")
		}
		return nil
	}},
}

// Load reads and validates a catalogue file.
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read catalogue: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse validates a catalogue file's bytes (format in the package doc).
func Parse(data []byte) (*Catalog, error) {
	c := &Catalog{Hash: hashOf(data), byID: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(text, &obj); err != nil {
			return nil, fmt.Errorf("%w: line %d: not a JSON object: %v", ErrInvalid, line, err)
		}
		if _, ok := obj[headerField]; ok {
			if line != 1 {
				return nil, fmt.Errorf("%w: line %d: field %q: the header must be line 1", ErrInvalid, line, headerField)
			}
			if err := c.parseHeader(obj); err != nil {
				return nil, fmt.Errorf("%w: line 1: %v", ErrInvalid, err)
			}
			continue
		}
		p, err := parseItem(obj)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalid, line, err)
		}
		if prev, dup := c.byID[p.ID]; dup {
			return nil, fmt.Errorf("%w: line %d: field \"id\": %q already on line %d", ErrInvalid, line, p.ID, c.lineOf[prev])
		}
		c.byID[p.ID] = len(c.items)
		c.items = append(c.items, p)
		c.lineOf = append(c.lineOf, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v (lines are limited to %d bytes)", ErrInvalid, err, maxLine)
	}
	c.lineOf = nil
	return c, nil
}

func parseItem(obj map[string]json.RawMessage) (Product, error) {
	var p Product
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		f, ok := fields[k]
		if !ok {
			return p, fmt.Errorf("unknown field %q", k)
		}
		raw := obj[k]
		if string(raw) == "null" {
			return p, fmt.Errorf("field %q: null is not a value", k)
		}
		if err := f.set(&p, raw); err != nil {
			return p, fmt.Errorf("field %q: %v", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if _, ok := obj[k]; fields[k].required && !ok {
			return p, fmt.Errorf("field %q: missing", k)
		}
	}
	if p.Name == "" {
		return p, fmt.Errorf("field \"name\": empty")
	}
	return p, nil
}

func (c *Catalog) parseHeader(obj map[string]json.RawMessage) error {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		raw := obj[k]
		var err error
		switch k {
		case headerField:
			err = json.Unmarshal(raw, &c.Version)
			if err == nil {
				err = checkText(c.Version, maxAttrLen)
			}
		case "source":
			err = json.Unmarshal(raw, &c.Source)
		case "doc":
			err = json.Unmarshal(raw, &c.Doc)
		case "synthetic", "derived":
			var cols []string
			if err = json.Unmarshal(raw, &cols); err == nil {
				err = checkColumns(cols)
			}
			if k == "synthetic" {
				c.Synthetic = cols
			} else {
				c.Derived = cols
			}
		default:
			return fmt.Errorf("unknown header field %q", k)
		}
		if string(raw) == "null" {
			err = fmt.Errorf("null is not a value")
		}
		if err != nil {
			return fmt.Errorf("field %q: %v", k, err)
		}
	}
	if c.Version == "" {
		return fmt.Errorf("field %q: empty", headerField)
	}
	return nil
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func checkColumns(cols []string) error {
	for _, col := range cols {
		if _, ok := fields[col]; !ok {
			return fmt.Errorf("%q is not an item field", col)
		}
	}
	return nil
}

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, more than %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

func validID(s string) bool {
	if s == "" || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		ok := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '.' || b == '_' || b == ':' || b == '-'
		if !ok {
			return false
		}
	}
	return true
}
