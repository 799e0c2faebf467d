package guest

import (
	"fmt"
	"strconv"
	"strings"
)

// Field names and prefixes of a stored State (see the package doc).
const (
	fieldAffinityPre = "a|"
	fieldCartPre     = "c|"
	fieldCounterPre  = "s|"
	FieldRecent      = "r"
	FieldSession     = "sid"
	FieldSessionLast = "slast"
	FieldEvents      = "n"
	FieldUpdated     = "u"
)

// AffinityField names the decayed count of signal for attribute=value.
func AffinityField(s Signal, attribute, value string) string {
	return fieldAffinityPre + s.String() + "|" + attribute + "|" + value
}

// splitAffinity parses AffinityField's output.
func splitAffinity(field string) (signal, attribute, value string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(field, fieldAffinityPre), "|", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// EncodeDecayed formats a decayed count as stored: "<score>:<last ms>".
func EncodeDecayed(d Decayed) string {
	return strconv.FormatFloat(d.Score, 'g', 17, 64) + ":" + strconv.FormatInt(d.LastMs, 10)
}

func decodeDecayed(v string) (Decayed, error) {
	s, t, ok := strings.Cut(v, ":")
	if !ok {
		return Decayed{}, fmt.Errorf("decayed value %q has no ':'", v)
	}
	score, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Decayed{}, fmt.Errorf("decayed score %q: %w", v, err)
	}
	last, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return Decayed{}, fmt.Errorf("decayed time %q: %w", v, err)
	}
	return Decayed{score, last}, nil
}

// EncodeRecent formats the recent list as stored: "id@ms;id@ms", newest first.
func EncodeRecent(list []RecentItem) string {
	var b strings.Builder
	for i, r := range list {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(r.ItemID)
		b.WriteByte('@')
		b.WriteString(strconv.FormatInt(r.AtMs, 10))
	}
	return b.String()
}

func decodeRecent(v string) ([]RecentItem, error) {
	if v == "" {
		return nil, nil
	}
	var out []RecentItem
	for e := range strings.SplitSeq(v, ";") {
		id, t, ok := strings.Cut(e, "@")
		ms, err := strconv.ParseInt(t, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("recent entry %q is not id@ms", e)
		}
		out = append(out, RecentItem{id, ms})
	}
	return out, nil
}

// DecodeFields reads a State from its stored fields (a Redis hash).
func DecodeFields(fields map[string]string) (State, error) {
	s := State{Affinity: map[string]Decayed{}, Cart: map[string]int64{}, Counters: map[string]int64{}}
	var err error
	for k, v := range fields {
		switch {
		case strings.HasPrefix(k, fieldAffinityPre):
			var d Decayed
			if d, err = decodeDecayed(v); err == nil {
				s.Affinity[k] = d
			}
		case strings.HasPrefix(k, fieldCartPre):
			var q int64
			if q, err = strconv.ParseInt(v, 10, 64); err == nil && q > 0 {
				s.Cart[k[len(fieldCartPre):]] = q
			}
		case strings.HasPrefix(k, fieldCounterPre):
			var c int64
			if c, err = strconv.ParseInt(v, 10, 64); err == nil {
				s.Counters[k[len(fieldCounterPre):]] = c
			}
		case k == FieldRecent:
			s.Recent, err = decodeRecent(v)
		case k == FieldSession:
			s.SessionID = v
		case k == FieldSessionLast:
			s.SessionLastMs, err = strconv.ParseInt(v, 10, 64)
		case k == FieldEvents:
			s.Events, err = strconv.ParseInt(v, 10, 64)
		case k == FieldUpdated:
			s.UpdatedMs, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return State{}, fmt.Errorf("guest field %q: %w", k, err)
		}
	}
	return s, nil
}
