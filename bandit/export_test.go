package bandit

import "time"

// SetClock makes b read the time from now (tests drive the refresh and
// back-off intervals without sleeping).
func SetClock(b *Bandits, now func() time.Time) { b.now = now }

// OrderLen returns how many ids l's arrival order holds, holes included.
func OrderLen(l *Learner) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.order)
}
