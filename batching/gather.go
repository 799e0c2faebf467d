package batching

import (
	"encoding/binary"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/aisle-ai/aisle/tensor"
)

// execute runs w.batch: gather the inputs, call the runner, scatter the
// outputs, deliver every request's result and record statistics. A failing
// batch is split until the failing requests are alone (isolate.go), so every
// other request of the batch still gets its outputs.
func (s *Scheduler) execute(w *worker) {
	n := len(w.batch)
	w.results = slices.Grow(w.results[:0], n)[:n]
	var b batchTiming
	s.runPart(w, w.batch, w.results, &b)
	t3 := time.Now()
	rows := 0
	w.latencies = w.latencies[:0]
	for i, e := range w.batch {
		rows += e.rows
		if w.results[i].err == nil {
			w.latencies = append(w.latencies, t3.Sub(e.enqueued))
		}
	}
	clean := len(w.latencies) == n && b.attempts == 1
	// The instance is free before any result is delivered, so a client
	// that answers a result with its next request finds it free.
	s.mu.Lock()
	s.running--
	met := s.measured(rows, b.input+b.infer+b.output, clean, w.latencies)
	s.mu.Unlock()
	s.signal()
	s.inst.attained(len(w.latencies), met)

	b.end = t3
	for i, e := range w.batch {
		q := e.dispatched.Sub(e.enqueued)
		b.queued.add(1, q)
		if w.results[i].err == nil {
			b.success.add(1, t3.Sub(e.enqueued))
			b.rows += e.rows
		} else {
			b.failed.add(1, t3.Sub(e.enqueued))
		}
		if s.inst != nil {
			s.inst.queueTime.Observe(q.Seconds())
		}
	}
	b.ok = b.success.Count > 0
	// Statistics first, so they already count a request when its Infer
	// returns.
	if in := s.inst; in != nil && b.ok {
		in.batchSize.Observe(float64(b.rows))
		in.compute.Observe((b.input + b.infer + b.output).Seconds())
		in.executions.Inc()
		in.inferences.Add(float64(b.rows))
	}
	s.statsMu.Lock()
	s.stats.record(&b)
	s.statsMu.Unlock()
	for i, e := range w.batch {
		s.finish(e, w.results[i]) // e may be recycled from here on
	}
	clear(w.batch)
	w.batch = w.batch[:0]
	clear(w.results)
	w.results = w.results[:0]
	// Delivering readied the callers on this worker's P, the last one in
	// the runnext slot. Yield so they all run (and closed-loop clients send
	// their next requests) before this worker forms again; otherwise the
	// worker and that one caller can ping-pong through runnext for a whole
	// time slice while the other callers starve in the run queue, and every
	// batch holds one request.
	runtime.Gosched()
}

// release drops the batch's references to request inputs so they can be
// collected while the worker idles; the buffers themselves stay.
func (s *Scheduler) release(w *worker) {
	for i := range w.in {
		w.in[i] = tensor.Tensor{}
		clear(w.strs[i])
		w.strs[i] = w.strs[i][:0]
	}
}

// gather builds the runner's inputs for part (w.batch or a piece of it)
// into w.in and returns its rows and padded length. A batch of one request runs on the
// request's own tensors; otherwise each input is concatenated along
// dimension 0 into the worker's buffer for that input, ragged rows padded to
// the longest length in the batch.
func (s *Scheduler) gather(w *worker, part []*entry) (rows, padLen int) {
	for _, e := range part {
		rows += e.rows
		padLen = max(padLen, e.length)
	}
	if len(part) == 1 {
		for i, t := range part[0].inputs {
			w.in[i] = t
			if name := s.cfg.Inputs[i].Name; name != "" {
				w.in[i].Name = name
			}
		}
		return rows, padLen
	}
	for i := range s.cfg.Inputs {
		spec := &s.cfg.Inputs[i]
		head := &part[0].inputs[i]
		shape := append(w.shapes[i][:0], int64(rows))
		shape = append(shape, head.Shape[1:]...)
		if spec.Ragged {
			shape[1] = int64(padLen)
		}
		w.shapes[i] = shape
		t := tensor.Tensor{Name: spec.Name, DType: head.DType, Shape: shape}
		if spec.Name == "" {
			t.Name = head.Name
		}
		if head.DType == tensor.Bytes {
			t.Strings = s.gatherStrings(w, part, i, padLen)
		} else {
			t.Data = s.gatherBytes(w, part, i, rows, padLen)
		}
		w.in[i] = t
	}
	return rows, padLen
}

func (s *Scheduler) gatherBytes(w *worker, part []*entry, i, rows, padLen int) []byte {
	ragged := s.cfg.Inputs[i].Ragged
	head := &part[0].inputs[i]
	size := head.DType.Size()
	inner := 1 // elements per position of dimension 1 (ragged) or per row
	if ragged {
		inner = int(tensor.NumElements(head.Shape[2:]))
	} else {
		inner = int(tensor.NumElements(head.Shape[1:]))
	}
	rowBytes := inner * size
	if ragged {
		rowBytes *= padLen
	}
	total := rows * rowBytes
	buf := w.bufs[i]
	if cap(buf) < total {
		buf = make([]byte, total)
		w.bufs[i] = buf
	}
	buf = buf[:total]
	var pad [8]byte
	var padded []byte
	off := 0
	for _, e := range part {
		data := e.inputs[i].Data
		if !ragged || e.length == padLen {
			off += copy(buf[off:], data)
			continue
		}
		if padded == nil {
			padded = padBytes(&pad, head.DType, s.cfg.Inputs[i].PadValue)
		}
		own := e.length * inner * size
		for r := range e.rows {
			copy(buf[off:off+own], data[r*own:(r+1)*own])
			fill(buf[off+own:off+rowBytes], padded)
			off += rowBytes
		}
	}
	return buf
}

func (s *Scheduler) gatherStrings(w *worker, part []*entry, i, padLen int) [][]byte {
	ragged := s.cfg.Inputs[i].Ragged
	strs := w.strs[i][:0]
	for _, e := range part {
		t := &e.inputs[i]
		if !ragged || e.length == padLen {
			strs = append(strs, t.Strings...)
			continue
		}
		inner := int(tensor.NumElements(t.Shape[2:]))
		own, padded := e.length*inner, padLen*inner
		for r := range e.rows {
			strs = append(strs, t.Strings[r*own:(r+1)*own]...)
			for range padded - own {
				strs = append(strs, []byte{})
			}
		}
	}
	w.strs[i] = strs
	return strs
}

// PadElement returns the bytes the batcher pads a ragged input of d with
// for the pad value v: the repository checks them against the model's
// division guards when it loads the model.
func PadElement(d tensor.DType, v float64) []byte {
	var buf [8]byte
	return slices.Clone(padBytes(&buf, d, v))
}

// padBytes encodes v as one element of d into buf.
func padBytes(buf *[8]byte, d tensor.DType, v float64) []byte {
	b := buf[:d.Size()]
	switch d {
	case tensor.Bool:
		if v != 0 {
			b[0] = 1
		}
	case tensor.Uint8:
		b[0] = uint8(v)
	case tensor.Int8:
		b[0] = uint8(int8(v))
	case tensor.Uint16:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case tensor.Int16:
		binary.LittleEndian.PutUint16(b, uint16(int16(v)))
	case tensor.Uint32:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case tensor.Int32:
		binary.LittleEndian.PutUint32(b, uint32(int32(v)))
	case tensor.Uint64:
		binary.LittleEndian.PutUint64(b, uint64(v))
	case tensor.Int64:
		binary.LittleEndian.PutUint64(b, uint64(int64(v)))
	case tensor.FP16:
		binary.LittleEndian.PutUint16(b, tensor.Float16Bits(float32(v)))
	case tensor.BF16:
		binary.LittleEndian.PutUint16(b, bfloat16Bits(float32(v)))
	case tensor.FP32:
		binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v)))
	case tensor.FP64:
		binary.LittleEndian.PutUint64(b, math.Float64bits(v))
	}
	return b
}

// bfloat16Bits rounds f to bfloat16, to nearest even, keeping NaN a NaN.
func bfloat16Bits(f float32) uint16 {
	b := math.Float32bits(f)
	if f != f {
		return uint16(b>>16) | 0x40
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// fill repeats the element pattern p over dst (whose length is a multiple of
// len(p)).
func fill(dst, p []byte) {
	if len(dst) == 0 {
		return
	}
	zero := true
	for _, c := range p {
		zero = zero && c == 0
	}
	if zero {
		clear(dst)
		return
	}
	n := copy(dst, p)
	for n < len(dst) {
		n += copy(dst[n:], dst[:n])
	}
}
