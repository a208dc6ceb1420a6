package metrics

import (
	"context"
)

// Reset zeroes every counter, the latency samples and the Prometheus
// counters and histograms (a test-control reset of "stats", SPEC §10). The
// gauges read live state and are left alone.
func (m *Metrics) Reset(context.Context) error {
	m.requests.Reset()
	m.durations.Reset()
	m.minted.Reset()
	m.validations.Reset()
	m.limited.Reset()
	m.roomEvents.Reset()
	m.dataDropped.Reset()
	m.initDataDropped()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nRequests, m.nErrors, m.nServerErrs = 0, 0, 0
	m.nMinted = 0
	m.mintedBy = map[string]int64{}
	m.lastMinute = secondSlots{}
	m.nValidated, m.nValid, m.nLimited = 0, 0, 0
	m.events = map[string]int64{}
	clear(m.samples)
	m.next, m.filled = 0, false
	return nil
}
