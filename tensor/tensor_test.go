package tensor

import (
	"errors"
	"math"
	"testing"
)

func TestParseDType(t *testing.T) {
	for in, want := range map[string]DType{"FP32": FP32, "TYPE_INT64": Int64, "bool": Bool, "STRING": Bytes, "BYTES": Bytes, "BF16": BF16} {
		got, err := ParseDType(in)
		if err != nil || got != want {
			t.Errorf("ParseDType(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "FLOAT", "FP8", "INVALID"} {
		if _, err := ParseDType(bad); err == nil {
			t.Errorf("ParseDType(%q) succeeded", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		t    Tensor
		ok   bool
	}{
		{"fp32 ok", Tensor{DType: FP32, Shape: []int64{2, 2}, Data: make([]byte, 16)}, true},
		{"fp32 short", Tensor{DType: FP32, Shape: []int64{2, 2}, Data: make([]byte, 15)}, false},
		{"negative dim", Tensor{DType: FP32, Shape: []int64{-1, 2}, Data: nil}, false},
		{"overflow", Tensor{DType: Int8, Shape: []int64{1 << 40, 1 << 40}}, false},
		{"bytes ok", Tensor{DType: Bytes, Shape: []int64{2}, Strings: [][]byte{{}, {1}}}, true},
		{"bytes count", Tensor{DType: Bytes, Shape: []int64{3}, Strings: [][]byte{{}}}, false},
		{"invalid type", Tensor{Shape: []int64{1}, Data: []byte{0}}, false},
		{"empty dim", Tensor{DType: FP32, Shape: []int64{0, 4}}, true},
	}
	for _, tc := range cases {
		err := tc.t.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrShape)) {
			t.Errorf("%s: Validate = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestFloat16RoundTrip(t *testing.T) {
	for _, f := range []float32{0, 1, -2, 0.5, 65504, 6.1035156e-05, 5.9604645e-08, float32(math.Inf(1))} {
		if got := Float16Value(Float16Bits(f)); got != f {
			t.Errorf("half(%v) = %v", f, got)
		}
	}
	if got := Float16Value(Float16Bits(1e6)); !math.IsInf(float64(got), 1) {
		t.Errorf("1e6 should overflow to +Inf, got %v", got)
	}
	if !math.IsNaN(float64(Float16Value(Float16Bits(float32(math.NaN()))))) {
		t.Error("NaN lost")
	}
}

func TestStrings(t *testing.T) {
	elems := [][]byte{[]byte("milk"), {}, []byte("eggs")}
	raw := EncodeStrings(elems)
	got, err := DecodeStrings(raw, 3)
	if err != nil || len(got) != 3 || string(got[2]) != "eggs" || len(got[1]) != 0 {
		t.Fatalf("DecodeStrings = %q, %v", got, err)
	}
	bad := map[string]struct {
		raw  []byte
		want int64
	}{
		"count":     {raw, 2},
		"truncated": {raw[:len(raw)-1], 3},
		"prefix":    {[]byte{1, 0}, 1},
		"huge":      {[]byte{0xff, 0xff, 0xff, 0xff}, 1},
		"negative":  {raw, -1},
	}
	for name, tc := range bad {
		if _, err := DecodeStrings(tc.raw, tc.want); !errors.Is(err, ErrShape) {
			t.Errorf("%s: err = %v, want ErrShape", name, err)
		}
	}
}

func TestViewUnaligned(t *testing.T) {
	want := []float32{1.5, -2, 3}
	b := append([]byte{0}, AsBytes(want)...)
	got := View[float32](b[1:])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("View unaligned = %v", got)
		}
	}
}
