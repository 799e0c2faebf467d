package main

import (
	"net/http"
	"net/http/pprof"
)

// withProfiler adds Go's profiler under /debug/pprof/ in front of h, for
// `--pprof`: issue 13 asks where a request's CPU goes under load, and a
// profile of the serving process (not of a benchmark harness) is the answer.
// With ONNX Runtime's intra-op threads at 1 every Run executes on a Go
// thread, so its time shows up as runtime.cgocall and the profile covers the
// whole process. Off by default: the goroutine and heap endpoints expose
// internals to whoever reaches --http-addr.
func withProfiler(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
