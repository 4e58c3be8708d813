package shipenginefake

// SoldLabel is a label the fake sold, as a test counts it.
type SoldLabel struct {
	ID, RateID string
	// ExternalShipmentID is the external_shipment_id the label's rate
	// was quoted with ("" for a quote without one).
	ExternalShipmentID string
	Voided             bool
}

// SoldLabels returns every label sold so far, oldest first (read-only:
// for tests that count an order's labels).
func (s *Server) SoldLabels() []SoldLabel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SoldLabel, 0, len(s.lab.labels))
	for _, l := range s.lab.labels {
		sl := SoldLabel{ID: l.id, RateID: l.rateID, Voided: !l.voidedAt.IsZero()}
		if l.rate != nil {
			sl.ExternalShipmentID = l.rate.externalID
		}
		out = append(out, sl)
	}
	return out
}
