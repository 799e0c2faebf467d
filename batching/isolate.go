package batching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aisle-ai/aisle/excerpt"
)

// Steps of a batch execution, named in errors and log lines.
const (
	stepGather  = "gather inputs"
	stepRun     = "run"
	stepScatter = "split outputs"
)

// runPart runs part (all of w.batch or a piece of it) and fills res, one
// result per entry. When the run fails with an error a request's data may
// have caused (mayBeInput) and part holds more than one request, it is
// split in halves and each half runs again, so a request that fails on its
// own (a token id past the vocabulary, an index out of range) fails alone
// and the others get their outputs. A batch of n with one such request
// costs at most 2·log2(n) extra runs. Any other failure (the runtime down,
// its session closed, out of memory, a context ended) fails every request
// of part at once: splitting would fail the same way 2n−1 times.
//
// Measured before this existed: two clients sending such requests failed
// 72% of the other clients' calls, because each of their requests failed
// the whole batch it joined.
func (s *Scheduler) runPart(w *worker, part []*entry, res []result, b *batchTiming) {
	err := s.attempt(w, part, res, b)
	if err == nil {
		return
	}
	if len(part) > 1 && s.mayBeInput(err) {
		s.inst.split()
		h := len(part) / 2
		s.runPart(w, part[:h], res[:h], b)
		s.runPart(w, part[h:], res[h:], b)
		return
	}
	var pe *panicError
	if errors.As(err, &pe) {
		s.logFailure("recovered panic in batch execution", pe.step, len(part), fmt.Sprint(pe.value), "stack", string(pe.stack))
		err = fmt.Errorf("%s: %s: %w", s.name, pe.step, ErrPanic)
	} else {
		s.logFailure("batch execution failed", stepOf(err), len(part), err.Error())
	}
	for i := range res {
		res[i] = result{err: err}
	}
}

// InputFault is implemented by runner errors that know whether the data of
// the requests in the batch may have caused them; package inference's errors
// do (its ErrSessionClosed and ErrUnsupported say false; ErrOutOfMemory may be
// one request's doing, so it says nothing and is split).
// A Runner of another kind may wrap an error implementing it.
type inputFault interface{ InputFault() bool }

// mayBeInput reports whether err, the failure of one attempt at a batch,
// may have been caused by one of its requests' data, so that splitting the
// batch can isolate it. It may not when the runners' context has ended
// (Close gave up), when err is a context error, or when err says so through
// InputFault. Any other error, a recovered panic included, may: ONNX
// Runtime's data errors ("indices element out of data bounds") carry no
// code that tells them from the rest, so bisection stays the default.
func (s *Scheduler) mayBeInput(err error) bool {
	if s.runCtx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var f inputFault
	if errors.As(err, &f) {
		return f.InputFault()
	}
	return true
}

// attempt gathers, runs and scatters part once, adding its durations to b.
// A panic in any step is recovered into a *panicError carrying its stack.
func (s *Scheduler) attempt(w *worker, part []*entry, res []result, b *batchTiming) (err error) {
	step := stepGather
	defer func() {
		if p := recover(); p != nil {
			s.inst.panicked()
			err = &panicError{step: step, value: p, stack: debug.Stack()}
		}
		s.release(w)
	}()
	b.attempts++
	t0 := time.Now()
	rows, padLen := s.gather(w, part)
	t1 := time.Now()
	step = stepRun
	outs, err := w.runner.Run(s.runCtx, w.in)
	t2 := time.Now()
	b.input += t1.Sub(t0)
	b.infer += t2.Sub(t1)
	if err != nil {
		return &stepError{step: stepRun, err: fmt.Errorf("%s: %s: %w", s.name, stepRun, err)}
	}
	step = stepScatter
	if err := s.scatter(part, res, outs, rows, padLen); err != nil {
		return &stepError{step: stepScatter, err: err}
	}
	b.output += time.Since(t2)
	return nil
}

// panicError is a panic recovered in a batch step. Its value and stack go
// to the log only: the client's error says ErrPanic, the model and the step.
type panicError struct {
	step  string
	value any
	stack []byte
}

func (e *panicError) Error() string { return e.step + ": panic" }

// stepError is a failed batch step; it unwraps to the cause.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func stepOf(err error) string {
	var se *stepError
	if errors.As(err, &se) {
		return se.step
	}
	return stepRun
}

// maxLogError bounds the error text of one log line: a runtime error quoting
// a large tensor once wrote megabytes per failure.
const maxLogError = 512

// logFailure logs a request failure that batching could not isolate further,
// through the scheduler's rate limit. extra are more slog key/value pairs.
func (s *Scheduler) logFailure(msg, step string, requests int, errText string, extra ...any) {
	suppressed, ok := s.logLimit.allow(time.Now())
	if !ok {
		return
	}
	args := []any{"model", s.cfg.Model, "version", s.cfg.Version, "step", step, "requests", requests,
		"error", excerpt.Text(errText, maxLogError)}
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	s.log.Error(msg, append(args, extra...)...)
}

// logLimit bounds a scheduler's failure log lines to logBurst at once and
// one per logEvery after that; a line after a quiet spell reports how many
// were suppressed. A client sending bad requests at any rate thus costs a
// few lines a second, while the failures are all counted in Stats.Fail and
// the metrics.
type logLimit struct {
	mu         sync.Mutex // guards tokens, last and suppressed
	tokens     float64
	last       time.Time
	suppressed int
}

const (
	logBurst = 5
	logEvery = time.Second
)

// allow reports whether a line may be written now, and how many were
// suppressed since the last one written.
func (l *logLimit) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = logBurst
	} else {
		l.tokens = min(logBurst, l.tokens+now.Sub(l.last).Seconds()/logEvery.Seconds())
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return 0, false
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return n, true
}

// logger returns cfg's logger, or the default one.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
