package lulufake

import (
	"sort"
	"strconv"
)

// PrintJob is a print job the fake received, as a test counts it.
type PrintJob struct {
	ID, ExternalID, Status string
}

// JobsFor returns the print jobs created with external_id externalID,
// oldest first (read-only: for tests that count an order's jobs).
func (s *Server) JobsFor(externalID string) []PrintJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for id, j := range s.jobs {
		if j.ExternalID == externalID {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	out := make([]PrintJob, 0, len(ids))
	for _, id := range ids {
		j := s.jobs[id]
		out = append(out, PrintJob{ID: strconv.FormatInt(id, 10), ExternalID: j.ExternalID, Status: j.Status.Name})
	}
	return out
}
