package coldstart

import (
	"math"
	"regexp"
	"slices"
	"testing"
)

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"UHT-milk", []string{"milk", "uht"}},
		{"Crème Fraîche 2%", []string{"2", "che", "cr", "fra", "me"}},
		{"", nil},
		{"  --  ", nil},
		{"Oat Milk oat", []string{"milk", "oat"}},
		{"ÀB", []string{"b"}},            // À is two non-ASCII bytes: not lowercased, a separator
		{"İx", []string{"x"}},            // Go's ToLower would turn İ into "i̇"; the rule does not
		{"K\u212aX", []string{"k", "x"}}, // the Kelvin sign is not ASCII K
		{"a1b2", []string{"a1b2"}},
	} {
		if got := Tokens(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// known is test_coldstart.py's fixture.
func known() (*Known, []float32) {
	k := NewKnown([]Item{
		{"whole milk", "dairy produce", "fresh products"},
		{"UHT-milk", "shelf-stable dairy", "fresh products"},
		{"butter", "dairy produce", "fresh products"},
		{"sugar", "baking supplies", "processed food"},
		{"mystery", "", ""}, // a known item the catalogue lacks: no aisle or department
	})
	return k, []float32{1, 0, 0, 1, 3, 3, -1, -1, 7, 7}
}

func TestMembers(t *testing.T) {
	k, _ := known()
	for _, tc := range []struct {
		what string
		u    Item
		want []int
	}{
		{"S1: a shared token in the aisle", Item{"oat milk", "dairy produce", "fresh products"}, []int{0}},
		{"S1: every sharer, ascending", Item{"milk butter", "dairy produce", ""}, []int{0, 2}},
		{"S1 ignores a sharer in another aisle", Item{"goat milk", "dairy produce", "x"}, []int{0}},
		{"S2: the aisle", Item{"ghee", "dairy produce", "fresh products"}, []int{0, 2}},
		{"S2: no name tokens", Item{"ĝĥ", "dairy produce", ""}, []int{0, 2}},
		{"S3: the department", Item{"kefir", "cultured", "fresh products"}, []int{0, 1, 2}},
		{"S3 when the aisle is empty", Item{"milk", "", "processed food"}, []int{3}},
		{"unreachable: no aisle or department", Item{"candles", "", ""}, nil},
		{"unreachable: unknown aisle and department", Item{"milk", "lamps", "home"}, nil},
		{"an empty aisle never matches a known item's empty aisle", Item{"mystery", "", "garden"}, nil},
	} {
		t.Run(tc.what, func(t *testing.T) {
			if got := k.Members(tc.u); !slices.Equal(got, tc.want) {
				t.Fatalf("Members(%+v) = %v, want %v", tc.u, got, tc.want)
			}
		})
	}
}

// TestVectors is test_coldstart.py's test_rungs.
func TestVectors(t *testing.T) {
	k, vecs := known()
	out, ok := Vectors(k, vecs, 2, []Item{
		{"oat milk", "dairy produce", "fresh products"},
		{"ghee", "dairy produce", "fresh products"},
		{"kefir", "cultured", "fresh products"},
		{"candles", "", ""},
	})
	if !slices.Equal(ok, []bool{true, true, true, false}) {
		t.Fatalf("reachable %v", ok)
	}
	third := float32(4.0 / 3.0)
	if want := []float32{1, 0, 2, 1.5, third, third, 0, 0}; !slices.Equal(out, want) {
		t.Fatalf("vectors %v, want %v", out, want)
	}
}

// TestMeanRoundsOnce: the mean is summed in float64 and rounded once; a
// float32 running sum would lose the small terms.
func TestMeanRoundsOnce(t *testing.T) {
	vecs := []float32{1 << 24, 1, 1, -(1 << 24)}
	dst := make([]float32, 1)
	Mean(dst, vecs, []int{0, 1, 2, 3})
	if dst[0] != 0.5 {
		t.Fatalf("mean %v, want 0.5", dst[0])
	}
	third := make([]float32, 1)
	Mean(third, []float32{0.1, 0.2, 0.4}, []int{0, 1, 2})
	want := float32((float64(float32(0.1)) + float64(float32(0.2)) + float64(float32(0.4))) / 3)
	if math.Float32bits(third[0]) != math.Float32bits(want) {
		t.Fatalf("mean %v, want %v", third[0], want)
	}
}

// tokenRun is coldstart.py's tokenizer: re.findall(rb"[a-z0-9]+") over the
// bytes with ASCII letters lowercased (Python's bytes.lower()).
var tokenRun = regexp.MustCompile(`[a-z0-9]+`)

// FuzzTokens: Tokens splits any name as coldstart.py does (sorted, without
// duplicates), whatever bytes it holds.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{"UHT-milk", "Crème Fraîche 2%", "", "İx", "a\xffb", "oat milk OAT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		b := []byte(name)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		var want []string
		for _, m := range tokenRun.FindAll(b, -1) {
			want = append(want, string(m))
		}
		slices.Sort(want)
		want = slices.Compact(want)
		if got := Tokens(name); !slices.Equal(got, want) {
			t.Fatalf("Tokens(%q) = %q, want %q", name, got, want)
		}
	})
}
