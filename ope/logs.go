package ope

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
)

// maxActions bounds the action ids a log may use, so that a corrupt id
// cannot make FillDR allocate a huge table.
const maxActions = 1 << 20

// ReadOBD reads an Open Bandit Dataset log (the CSV files of the
// st-tech/zr-obp repository: a header naming at least item_id, position,
// click and propensity_score; other columns are ignored). Each row is one
// round: Action = item_id, Position = position − 1 (the files count 1 to
// 3), Reward = click, Propensity = propensity_score. It returns the rounds
// and the number of actions and positions (largest id + 1).
func ReadOBD(r io.Reader) (rounds []Round, numActions, numPositions int, err error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: read header: %v", ErrBadLog, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	idx := make([]int, 4)
	for i, name := range []string{"item_id", "position", "click", "propensity_score"} {
		c, ok := col[name]
		if !ok {
			return nil, 0, 0, fmt.Errorf("%w: no %q column in the header", ErrBadLog, name)
		}
		idx[i] = c
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("%w: line %d: %v", ErrBadLog, line, err)
		}
		item, err1 := strconv.Atoi(rec[idx[0]])
		pos, err2 := strconv.Atoi(rec[idx[1]])
		click, err3 := strconv.ParseFloat(rec[idx[2]], 64)
		prop, err4 := strconv.ParseFloat(rec[idx[3]], 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil || item < 0 || item >= maxActions || pos < 1 || pos > MaxPositions {
			return nil, 0, 0, fmt.Errorf("%w: line %d: item_id %q, position %q, click %q, propensity_score %q",
				ErrBadLog, line, rec[idx[0]], rec[idx[1]], rec[idx[2]], rec[idx[3]])
		}
		rounds = append(rounds, Round{Action: item, Position: pos - 1, Reward: click, Propensity: prop})
		numActions = max(numActions, item+1)
		numPositions = max(numPositions, pos)
	}
	if err := Validate(rounds); err != nil {
		return nil, 0, 0, err
	}
	return rounds, numActions, numPositions, nil
}

// MaxPositions bounds the slots of one impression in a log.
const MaxPositions = 100

// ImpressionRecord is one line of aisle's JSONL impression log: an
// impression as shown, with each slot's arm, propensity and reward, after
// the reward join closed it (bandit.LearnerConfig.OnClose is where a
// server writes it).
type ImpressionRecord struct {
	ImpressionID string       `json:"impression_id"`
	Surface      string       `json:"surface"`
	At           time.Time    `json:"at"`
	Slots        []SlotRecord `json:"slots"`
}

// SlotRecord is one slot of an ImpressionRecord.
type SlotRecord struct {
	Arm        string  `json:"arm"`
	Propensity float64 `json:"propensity"`
	Reward     float64 `json:"reward"`
}

// ReadJSONL reads aisle's JSONL impression log, keeping the impressions of
// surface ("" keeps all). Each slot is one round: Position = slot index,
// Action = the arm's index in arms. Arms not in arms are appended to it in
// order of appearance; the returned slice is the full list.
func ReadJSONL(r io.Reader, surface string, arms []string) ([]Round, []string, error) {
	arms = slices.Clone(arms)
	index := map[string]int{}
	for i, a := range arms {
		index[a] = i
	}
	var rounds []Round
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec ImpressionRecord
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, nil, fmt.Errorf("%w: line %d: %v", ErrBadLog, line, err)
		}
		if surface != "" && rec.Surface != surface {
			continue
		}
		if len(rec.Slots) == 0 || len(rec.Slots) > MaxPositions {
			return nil, nil, fmt.Errorf("%w: line %d: %d slots, want 1 to %d", ErrBadLog, line, len(rec.Slots), MaxPositions)
		}
		for pos, s := range rec.Slots {
			a, ok := index[s.Arm]
			if !ok {
				a = len(arms)
				arms = append(arms, s.Arm)
				index[s.Arm] = a
			}
			rounds = append(rounds, Round{Action: a, Position: pos, Reward: s.Reward, Propensity: s.Propensity})
		}
		if err := Validate(rounds[len(rounds)-len(rec.Slots):]); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadLog, err)
	}
	return rounds, arms, nil
}
