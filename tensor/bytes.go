package tensor

import (
	"encoding/binary"
	"fmt"
)

// EncodeStrings packs BYTES elements in the KServe raw form: each element is
// a 4-byte little-endian length followed by its bytes.
func EncodeStrings(elems [][]byte) []byte {
	size := 0
	for _, e := range elems {
		size += 4 + len(e)
	}
	out := make([]byte, 0, size)
	for _, e := range elems {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

// DecodeStrings unpacks want elements from the KServe raw BYTES form. The
// elements alias raw.
func DecodeStrings(raw []byte, want int64) ([][]byte, error) {
	if want < 0 || want > int64(len(raw))/4 {
		return nil, fmt.Errorf("%w: %d bytes cannot hold %d length-prefixed elements", ErrShape, len(raw), want)
	}
	out := make([][]byte, 0, want)
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, fmt.Errorf("%w: truncated length prefix after element %d", ErrShape, len(out))
		}
		n := binary.LittleEndian.Uint32(raw)
		raw = raw[4:]
		if uint64(n) > uint64(len(raw)) {
			return nil, fmt.Errorf("%w: element %d declares %d bytes, %d left", ErrShape, len(out), n, len(raw))
		}
		out = append(out, raw[:n:n])
		raw = raw[n:]
	}
	if int64(len(out)) != want {
		return nil, fmt.Errorf("%w: raw BYTES hold %d elements, shape needs %d", ErrShape, len(out), want)
	}
	return out, nil
}
