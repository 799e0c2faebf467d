package server

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aisle-ai/aisle/excerpt"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

// traceDefaults are Triton's default trace settings; aisle's trace_level
// is always OFF.
var traceDefaults = map[string][]string{
	"trace_level":   {"OFF"},
	"trace_rate":    {"1000"},
	"trace_count":   {"-1"},
	"log_frequency": {"0"},
	"trace_file":    {""},
	"trace_mode":    {"triton"},
}

// traceSettings are the values clients set with TraceSetting: global ones
// and per-model overrides. aisle records no traces, so they change
// nothing; they are kept so that a client reads back what it set.
// inferenceService.settingsMu guards them.
type traceSettings struct {
	global map[string][]string
	// models holds overrides by model name; only names in the repository
	// are accepted, so it is bounded by the repository.
	models map[string]map[string][]string
}

// TraceSetting reports the trace settings, globally or for one model, and
// applies the changes a request names. aisle does not trace: trace_level
// can only be OFF (anything else is UNIMPLEMENTED), and trace_rate,
// trace_count, log_frequency and trace_mode are checked and stored but
// have no effect. trace_file cannot be set over the API (as in current
// Triton), since it would let a client choose a file the server writes.
func (s *inferenceService) TraceSetting(_ context.Context, req *pb.TraceSettingRequest) (*pb.TraceSettingResponse, error) {
	if req.ModelName != "" && !s.inRepository(req.ModelName) {
		return nil, toStatus(fmt.Errorf("%w: %s", repository.ErrModelNotFound, excerpt.Quote(req.ModelName)))
	}
	for key, v := range req.Settings {
		if err := checkTraceSetting(key, v.GetValue()); err != nil {
			return nil, toStatus(err)
		}
	}
	s.settingsMu.Lock()
	defer s.settingsMu.Unlock()
	t := &s.traces
	if len(req.Settings) > 0 {
		if req.ModelName == "" {
			t.global = applyTrace(t.global, req.Settings)
		} else {
			if t.models == nil {
				t.models = map[string]map[string][]string{}
			}
			t.models[req.ModelName] = applyTrace(t.models[req.ModelName], req.Settings)
		}
	}
	resp := &pb.TraceSettingResponse{Settings: map[string]*pb.TraceSettingResponse_SettingValue{}}
	for _, key := range slices.Sorted(maps.Keys(traceDefaults)) {
		value := traceDefaults[key]
		if v, ok := t.global[key]; ok {
			value = v
		}
		if v, ok := t.models[req.ModelName][key]; ok && req.ModelName != "" {
			value = v
		}
		resp.Settings[key] = &pb.TraceSettingResponse_SettingValue{Value: slices.Clone(value)}
	}
	return resp, nil
}

// applyTrace sets each named setting in m; one without values is cleared
// (back to the global or default value).
func applyTrace(m map[string][]string, settings map[string]*pb.TraceSettingRequest_SettingValue) map[string][]string {
	if m == nil {
		m = map[string][]string{}
	}
	for key, v := range settings {
		if len(v.GetValue()) == 0 {
			delete(m, key)
			continue
		}
		m[key] = slices.Clone(v.GetValue())
	}
	return m
}

// checkTraceSetting accepts one known setting with a valid value, or no
// value (clear).
func checkTraceSetting(key string, values []string) error {
	if _, ok := traceDefaults[key]; !ok {
		return fmt.Errorf("%w: trace setting %s is not one of trace_level, trace_rate, trace_count, log_frequency, trace_file, trace_mode",
			errBadRequest, excerpt.Quote(key))
	}
	if len(values) == 0 {
		return nil
	}
	if key == "trace_level" {
		for _, v := range values {
			if v != "OFF" {
				return fmt.Errorf("%w: aisle records no traces; trace_level can only be OFF", errUnsupported)
			}
		}
		return nil
	}
	if len(values) != 1 {
		return fmt.Errorf("%w: trace setting %s takes one value, got %d", errBadRequest, key, len(values))
	}
	v := values[0]
	switch key {
	case "trace_rate", "log_frequency":
		if _, err := strconv.ParseUint(v, 10, 32); err != nil {
			return fmt.Errorf("%w: trace setting %s must be a non-negative integer", errBadRequest, key)
		}
	case "trace_count":
		if n, err := strconv.ParseInt(v, 10, 32); err != nil || n < -1 {
			return fmt.Errorf("%w: trace setting %s must be an integer >= -1", errBadRequest, key)
		}
	case "trace_file":
		if v != "" {
			return fmt.Errorf("%w: trace_file cannot be set over the API", errBadRequest)
		}
	case "trace_mode":
		if v != "triton" && v != "opentelemetry" {
			return fmt.Errorf("%w: trace_mode must be triton or opentelemetry", errBadRequest)
		}
	}
	return nil
}

// inRepository reports whether the repository knows the model, in any state.
func (s *inferenceService) inRepository(name string) bool {
	for _, e := range s.repo.Index() {
		if e.Name == name {
			return true
		}
	}
	return false
}
