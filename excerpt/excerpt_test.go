package excerpt

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"cart-gnn", `"cart-gnn"`},
		{strings.Repeat("a", MaxBytes), `"` + strings.Repeat("a", MaxBytes) + `"`},
		{strings.Repeat("a", 1<<20), `"` + strings.Repeat("a", MaxBytes) + `"…(1048576 bytes)`},
		// A cut never splits a rune: 63 ASCII bytes, then a 3-byte rune.
		{strings.Repeat("a", 63) + "€€", `"` + strings.Repeat("a", 63) + `"…(69 bytes)`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%d bytes) = %s, want %s", len(tt.in), got, tt.want)
		}
	}
}

func TestShape(t *testing.T) {
	if got := Shape([]int64{2, -1, 3}); got != "[2 -1 3]" {
		t.Errorf("Shape = %s", got)
	}
	if got := Shape(nil); got != "[]" {
		t.Errorf("Shape(nil) = %s", got)
	}
	big := make([]int64, 1_000_000)
	if got := Shape(big); got != "[0 0 0 0 0 0 0 0 …(1000000 dims)]" {
		t.Errorf("Shape(1M dims) = %s", got)
	}
}

func TestText(t *testing.T) {
	if got := Text("short", 10); got != "short" {
		t.Errorf("Text = %q", got)
	}
	if got := Text("ab€", 3); got != "ab…" {
		t.Errorf("Text = %q", got)
	}
}
