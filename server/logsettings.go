package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aisle-ai/aisle/excerpt"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// Triton's log settings, as LogSettings names them.
const (
	logFile     = "log_file"
	logInfo     = "log_info"
	logWarning  = "log_warning"
	logError    = "log_error"
	logVerbose  = "log_verbose_level"
	logFormatID = "log_format"
)

// levelOff is above every level aisle logs at: log_error false.
const levelOff = slog.LevelError + 4

// LogSettings reports the log settings and applies the changes a request
// names. aisle's level is one threshold (verbose ⊂ info ⊂ warning ⊂
// error, slog's Debug < Info < Warn < Error), so a change moves the
// threshold as little as the named settings require, and settings that no
// threshold satisfies together (log_info on, log_warning off) are refused.
// Logs go to stderr in the format chosen at start (-log-json): log_file
// can only be "" and log_format only its current value. Updating is a
// mutating call; authorization is the interceptor's.
func (s *inferenceService) LogSettings(_ context.Context, req *pb.LogSettingsRequest) (*pb.LogSettingsResponse, error) {
	s.settingsMu.Lock()
	defer s.settingsMu.Unlock()
	if len(req.Settings) > 0 {
		if s.logLevel == nil {
			return nil, toStatus(fmt.Errorf("%w: this server's log level is fixed", errUnsupported))
		}
		level, err := s.newLogLevel(req.Settings)
		if err != nil {
			return nil, toStatus(err)
		}
		s.logLevel.Set(level)
	}
	return &pb.LogSettingsResponse{Settings: s.logSettings()}, nil
}

func (s *inferenceService) currentLogLevel() slog.Level {
	if s.logLevel != nil {
		return s.logLevel.Level()
	}
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if s.log.Enabled(context.Background(), l) {
			return l
		}
	}
	return levelOff
}

func (s *inferenceService) logSettings() map[string]*pb.LogSettingsResponse_SettingValue {
	level := s.currentLogLevel()
	verbose := uint32(0)
	if level <= slog.LevelDebug {
		verbose = 1
	}
	boolean := func(b bool) *pb.LogSettingsResponse_SettingValue {
		return &pb.LogSettingsResponse_SettingValue{ParameterChoice: &pb.LogSettingsResponse_SettingValue_BoolParam{BoolParam: b}}
	}
	str := func(v string) *pb.LogSettingsResponse_SettingValue {
		return &pb.LogSettingsResponse_SettingValue{ParameterChoice: &pb.LogSettingsResponse_SettingValue_StringParam{StringParam: v}}
	}
	return map[string]*pb.LogSettingsResponse_SettingValue{
		logFile:     str(""),
		logInfo:     boolean(level <= slog.LevelInfo),
		logWarning:  boolean(level <= slog.LevelWarn),
		logError:    boolean(level <= slog.LevelError),
		logVerbose:  {ParameterChoice: &pb.LogSettingsResponse_SettingValue_Uint32Param{Uint32Param: verbose}},
		logFormatID: str(s.logFormat),
	}
}

// levelRange is the set of thresholds [lo, hi] the settings allow.
type levelRange struct{ lo, hi slog.Level }

// newLogLevel checks every setting, then picks the threshold closest to
// the current one that satisfies them all.
func (s *inferenceService) newLogLevel(settings map[string]*pb.LogSettingsRequest_SettingValue) (slog.Level, error) {
	r := levelRange{lo: slog.LevelDebug, hi: levelOff}
	for key, v := range settings {
		switch key {
		case logFile:
			if str, ok := v.GetParameterChoice().(*pb.LogSettingsRequest_SettingValue_StringParam); !ok || str.StringParam != "" {
				return 0, fmt.Errorf("%w: log_file must be the string \"\": aisle logs to stderr only", errBadRequest)
			}
		case logFormatID:
			if str, ok := v.GetParameterChoice().(*pb.LogSettingsRequest_SettingValue_StringParam); !ok || str.StringParam != s.logFormat {
				return 0, fmt.Errorf("%w: log_format must be the string %q: it is chosen at start (-log-json)", errBadRequest, s.logFormat)
			}
		case logInfo, logWarning, logError:
			b, ok := v.GetParameterChoice().(*pb.LogSettingsRequest_SettingValue_BoolParam)
			if !ok {
				return 0, fmt.Errorf("%w: %s must be a bool", errBadRequest, key)
			}
			r = r.with(boolLevel(key, b.BoolParam))
		case logVerbose:
			n, ok := v.GetParameterChoice().(*pb.LogSettingsRequest_SettingValue_Uint32Param)
			if !ok {
				return 0, fmt.Errorf("%w: %s must be a uint32", errBadRequest, key)
			}
			// aisle has one verbose level, slog's Debug.
			verbose := levelRange{lo: slog.LevelInfo, hi: levelOff}
			if n.Uint32Param > 0 {
				verbose = levelRange{lo: slog.LevelDebug, hi: slog.LevelDebug}
			}
			r = r.with(verbose)
		default:
			return 0, fmt.Errorf("%w: log setting %s is not one of log_file, log_info, log_warning, log_error, log_verbose_level, log_format",
				errBadRequest, excerpt.Quote(key))
		}
	}
	if r.lo > r.hi {
		return 0, fmt.Errorf("%w: the log settings contradict each other: aisle logs everything at or above one level "+
			"(verbose, info, warning, error), so enabling one enables those after it", errBadRequest)
	}
	return min(max(s.currentLogLevel(), r.lo), r.hi), nil
}

// boolLevel is the range of thresholds that enable (or disable) a level.
func boolLevel(key string, on bool) levelRange {
	l := map[string]slog.Level{logInfo: slog.LevelInfo, logWarning: slog.LevelWarn, logError: slog.LevelError}[key]
	if on {
		return levelRange{lo: slog.LevelDebug, hi: l}
	}
	return levelRange{lo: l + 4, hi: levelOff} // slog's levels are 4 apart
}

func (r levelRange) with(o levelRange) levelRange {
	return levelRange{lo: max(r.lo, o.lo), hi: min(r.hi, o.hi)}
}
