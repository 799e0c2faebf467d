package tensor

import (
	"fmt"
	"strings"

	"github.com/aisle-ai/aisle/excerpt"
)

// DType is an element type, named as in the KServe v2 protocol.
type DType uint8

// The element types aisle understands.
const (
	Invalid DType = iota
	Bool
	Uint8
	Uint16
	Uint32
	Uint64
	Int8
	Int16
	Int32
	Int64
	FP16
	FP32
	FP64
	BF16
	Bytes
)

var dtypeNames = [...]string{
	Invalid: "INVALID",
	Bool:    "BOOL",
	Uint8:   "UINT8",
	Uint16:  "UINT16",
	Uint32:  "UINT32",
	Uint64:  "UINT64",
	Int8:    "INT8",
	Int16:   "INT16",
	Int32:   "INT32",
	Int64:   "INT64",
	FP16:    "FP16",
	FP32:    "FP32",
	FP64:    "FP64",
	BF16:    "BF16",
	Bytes:   "BYTES",
}

var dtypeSizes = [...]int{
	Bool: 1, Uint8: 1, Uint16: 2, Uint32: 4, Uint64: 8,
	Int8: 1, Int16: 2, Int32: 4, Int64: 8,
	FP16: 2, FP32: 4, FP64: 8, BF16: 2,
}

// String returns the KServe name of d, such as "FP32".
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the size of one element in bytes, or 0 for BYTES and Invalid,
// whose elements have no fixed size.
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// ParseDType parses a KServe datatype name ("FP32"), also accepting Triton's
// config spelling ("TYPE_FP32") and "STRING" for BYTES.
func ParseDType(s string) (DType, error) {
	name := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TYPE_")
	if name == "STRING" {
		return Bytes, nil
	}
	for d := Bool; d <= Bytes; d++ {
		if dtypeNames[d] == name {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("unknown datatype %s", excerpt.Quote(s))
}
