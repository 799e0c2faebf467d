package tensor

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"testing"
)

// FuzzDecodeStrings checks the KServe raw BYTES framing on arbitrary input:
// no panic, a refusal wraps ErrShape, and an accepted buffer holds exactly
// want elements that EncodeStrings turns back into the same bytes.
func FuzzDecodeStrings(f *testing.F) {
	f.Add(EncodeStrings([][]byte{[]byte("milk"), {}, []byte("eggs")}), int64(3))
	f.Add([]byte{}, int64(0))
	f.Add([]byte{1, 0, 0}, int64(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'x'}, int64(1))
	f.Add(EncodeStrings([][]byte{[]byte("a")}), int64(-1))
	f.Fuzz(func(t *testing.T, raw []byte, want int64) {
		got, err := DecodeStrings(raw, want)
		if err != nil {
			if !errors.Is(err, ErrShape) {
				t.Fatalf("DecodeStrings error %v does not wrap ErrShape", err)
			}
			return
		}
		if int64(len(got)) != want {
			t.Fatalf("DecodeStrings gave %d elements, want %d", len(got), want)
		}
		if back := EncodeStrings(got); !bytes.Equal(back, raw) {
			t.Fatalf("round trip changed %x into %x", raw, back)
		}
	})
}

// FuzzValidate builds tensors from an arbitrary type name, shape and data
// and checks the conversion helpers agree: ParseDType round-trips through
// String, Validate refuses with ErrShape, and a tensor it accepts holds
// exactly the bytes its shape needs, counted without overflow.
func FuzzValidate(f *testing.F) {
	f.Add("FP32", []byte{2, 2}, make([]byte, 16))
	f.Add("TYPE_INT64", []byte{1}, make([]byte, 8))
	f.Add("BYTES", []byte{2}, []byte("ab"))
	f.Add("fp16", []byte{0, 7}, []byte{})
	f.Add("UINT64", []byte{255, 255, 255, 255, 255, 255, 255, 255}, []byte{})
	f.Add("STRING", []byte{}, []byte{1})
	f.Fuzz(func(t *testing.T, name string, dims []byte, data []byte) {
		d, err := ParseDType(name)
		if err != nil {
			return
		}
		if back, err := ParseDType(d.String()); err != nil || back != d {
			t.Fatalf("ParseDType(%q) = %v, but ParseDType(%q) = %v, %v", name, d, d.String(), back, err)
		}
		// Each dim byte b is the dimension 1<<(b/8) - 1 + b%8: small dims
		// and powers of two up to 2^31 that overflow in products.
		shape := make([]int64, len(dims))
		exact := big.NewInt(1)
		for i, b := range dims {
			shape[i] = int64(1)<<(b/8) - 1 + int64(b%8)
			exact.Mul(exact, big.NewInt(shape[i]))
		}
		tn := Tensor{Name: "x", DType: d, Shape: shape, Data: data}
		if d == Bytes {
			tn.Data, tn.Strings = nil, bytes.SplitAfter(data, nil)
		}
		if n := tn.NumElements(); n >= 0 && (!exact.IsInt64() || n != exact.Int64()) {
			t.Fatalf("NumElements(%v) = %d, exact %v", shape, n, exact)
		}
		if err := tn.Validate(); err != nil {
			if !errors.Is(err, ErrShape) {
				t.Fatalf("Validate error %v does not wrap ErrShape", err)
			}
			return
		}
		count := int64(len(tn.Strings))
		if d != Bytes {
			count = int64(len(data))
			exact.Mul(exact, big.NewInt(int64(d.Size())))
		}
		if !exact.IsInt64() || exact.Int64() != count {
			t.Fatalf("Validate accepted %s %v with %d bytes/elements (needs %v)", d, shape, count, exact)
		}
		if bs := tn.ByteSize(); d != Bytes && bs != count {
			t.Fatalf("ByteSize = %d, data %d", bs, count)
		}
	})
}

// FuzzFloat16 checks that every half-precision value survives the trip
// through float32 and back bit for bit (NaN payloads become the quiet NaN).
func FuzzFloat16(f *testing.F) {
	for _, h := range []uint16{0, 0x8000, 0x3c00, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h uint16) {
		v := Float16Value(h)
		if math.IsNaN(float64(v)) {
			if got := Float16Bits(v); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, got)
			}
			return
		}
		if got := Float16Bits(v); got != h {
			t.Fatalf("%#04x -> %v -> %#04x", h, v, got)
		}
	})
}
