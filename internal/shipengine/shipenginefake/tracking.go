package shipenginefake

// Tracking: every label sold is "not yet in system" (NY) until a tester
// moves it (Track, or the tester's page at /_local/labels): accepted,
// in transit, out for delivery, delivered, a delivery attempt or an
// exception, each a carrier event. GET /v1/labels/{label_id}/track answers
// the label's tracking as ShipEngine does (events newest first), and each
// move POSTs the signed track webhook (RSA-SHA256 over the timestamp, a
// period and the body, with a key of the set the fake publishes at
// /jwks) to the URL set with SetWebhook, retried in the background. A
// label the carrier has scanned can no longer be voided.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/shipengine"
)

// Tracking moves a tester can make, and what the carrier says of each.
var moves = map[string]struct{ code, description string }{
	"accepted":         {"AC", "Accepted at USPS Origin Facility"},
	"in_transit":       {"IT", "Arrived at USPS Regional Facility"},
	"out_for_delivery": {"IT", "Out for Delivery"},
	"attempted":        {"AT", "Notice Left (No Authorized Recipient Available)"},
	"delivered":        {"DE", "Delivered, In/At Mailbox"},
	"exception":        {"EX", "Delivery Exception: damaged in transit"},
}

// Moves lists the tracking moves Track takes.
var Moves = []string{"accepted", "in_transit", "out_for_delivery", "attempted", "delivered", "exception"}

// TrackDelivery is one attempt to deliver a track webhook.
type TrackDelivery struct {
	LabelID    string
	StatusCode string
	HTTPStatus int // 0: no answer
	At         time.Time
}

type tracking struct {
	webhook    string
	key        *rsa.PrivateKey
	kid        string
	deliveries []TrackDelivery
	clock      func() time.Time // the webhook's timestamp (tests skew it)
}

func (s *Server) trackRoutes(mux *http.ServeMux) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	s.trk.key, s.trk.kid = key, "local-"+hex.EncodeToString(b)
	mux.HandleFunc("GET /jwks", s.jwks) // public, as ShipEngine's
	mux.HandleFunc("GET /_local/labels", s.labelsPage)
	mux.HandleFunc("POST /_local/labels/{label_id}/{move}", s.labelsPageAction)
	return nil
}

// SetWebhook makes every tracking move POST the signed track webhook to
// url ("" for none).
func (s *Server) SetWebhook(url string) { s.mu.Lock(); s.trk.webhook = url; s.mu.Unlock() }

// SetWebhookClock sets the clock of the webhooks' timestamps (nil: the
// fake's), so that a test can send a stale one.
func (s *Server) SetWebhookClock(now func() time.Time) { s.mu.Lock(); s.trk.clock = now; s.mu.Unlock() }

// JWKSURL is where the fake publishes its webhook key set.
func (s *Server) JWKSURL() string { return s.URL + "/jwks" }

// TrackDeliveries returns the track webhook's delivery attempts so far.
func (s *Server) TrackDeliveries() []TrackDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TrackDelivery(nil), s.trk.deliveries...)
}

// Track moves a label's tracking (one of Moves) as the carrier would,
// records the carrier's event and sends the track webhook.
func (s *Server) Track(labelID, move string) error {
	m, ok := moves[move]
	if !ok {
		return fmt.Errorf("shipenginefake: no tracking move %q (one of %s)", move, strings.Join(Moves, ", "))
	}
	s.mu.Lock()
	var l *soldLabel
	for _, x := range s.lab.labels {
		if x.id == labelID {
			l = x
		}
	}
	switch {
	case l == nil:
		s.mu.Unlock()
		return fmt.Errorf("shipenginefake: no label %s", labelID)
	case !l.voidedAt.IsZero():
		s.mu.Unlock()
		return fmt.Errorf("shipenginefake: label %s is voided", labelID)
	}
	to := l.rate.shipment.ShipTo
	city, state, zip := to.CityLocality, to.StateProvince, to.PostalCode
	if m.code == "AC" || m.code == "IT" && move == "in_transit" {
		from := l.rate.shipment.ShipFrom
		city, state, zip = from.CityLocality, from.StateProvince, from.PostalCode
	}
	l.trackCode, l.used = m.code, true
	l.events = append(l.events, trackEvent{at: s.now().UTC(), code: m.code, description: m.description, city: strings.ToUpper(city), state: state, zip: zip})
	answer := s.trackAnswer(l)
	body, _ := json.Marshal(map[string]any{"resource_url": s.URL + "/v1/tracking?carrier_code=" + l.rate.rate.CarrierCode + "&tracking_number=" + l.tracking,
		"resource_type": "API_TRACK", "data": answer})
	url, key, kid, clock := s.trk.webhook, s.trk.key, s.trk.kid, s.trk.clock
	s.mu.Unlock()
	if url != "" {
		if clock == nil {
			clock = s.now
		}
		go s.deliverTrack(url, key, kid, clock, labelID, m.code, body)
	}
	return nil
}

type trackEvent struct {
	at                                  time.Time
	code, description, city, state, zip string
}

// deliverTrack POSTs one signed delivery, retried on failure (ShipEngine
// tries 3 times, hours apart; the fake, moments apart).
func (s *Server) deliverTrack(url string, key *rsa.PrivateKey, kid string, clock func() time.Time, labelID, code string, body []byte) {
	for attempt := 0; attempt < 3; attempt++ {
		keyID, sig, ts, err := shipengine.Sign(key, kid, clock(), body)
		if err != nil {
			return
		}
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(shipengine.KeyIDHeader, keyID)
		req.Header.Set(shipengine.SignatureHeader, sig)
		req.Header.Set(shipengine.TimestampHeader, ts)
		resp, err := http.DefaultClient.Do(req)
		status := 0
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
		}
		s.mu.Lock()
		s.trk.deliveries = append(s.trk.deliveries, TrackDelivery{LabelID: labelID, StatusCode: code, HTTPStatus: status, At: s.now().UTC()})
		s.mu.Unlock()
		if status >= 200 && status < 300 {
			return
		}
		time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
	}
}

func (s *Server) jwks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	set := shipengine.JWKS{Keys: []shipengine.JWK{shipengine.PublicJWK(s.trk.kid, &s.trk.key.PublicKey)}}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (s *Server) track(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lab.labels {
		if l.id == id {
			writeJSON(w, http.StatusOK, s.trackAnswer(l))
			return
		}
	}
	writeError(w, http.StatusNotFound, "shipengine", "validation", "invalid_identifier", fmt.Sprintf("label_id %s was not found", id))
}

var statusDescriptions = map[string]string{"NY": "Not Yet In System", "AC": "Accepted", "IT": "In Transit", "DE": "Delivered", "EX": "Exception",
	"AT": "Delivery Attempt", "UN": "Unknown"}

// trackAnswer is a label's tracking in ShipEngine's shape (events newest
// first). Under s.mu.
func (s *Server) trackAnswer(l *soldLabel) map[string]any {
	status := l.trackCode
	if status == "" {
		status = "NY"
	}
	est := l.rate.shipDate.AddDate(0, 0, 3)
	if d := l.rate.rate.DeliveryDays; d != nil && *d > 0 {
		est = l.rate.shipDate.AddDate(0, 0, int(*d))
	}
	a := map[string]any{"tracking_number": l.tracking, "status_code": status, "status_description": statusDescriptions[status],
		"carrier_status_code": status, "carrier_status_description": statusDescriptions[status],
		"ship_date": l.rate.shipDate.Format("2006-01-02T15:04:05Z"), "estimated_delivery_date": est.Format("2006-01-02T15:04:05Z"),
		"events": []map[string]any{}}
	events := make([]map[string]any, 0, len(l.events))
	for i := len(l.events) - 1; i >= 0; i-- {
		e := l.events[i]
		events = append(events, map[string]any{"occurred_at": e.at.Format("2006-01-02T15:04:05Z"), "carrier_occurred_at": e.at.Format("2006-01-02T15:04:05Z"),
			"description": e.description, "city_locality": e.city, "state_province": e.state, "postal_code": e.zip, "country_code": "US",
			"company_name": "", "signer": "", "event_code": e.code})
		if i == len(l.events)-1 {
			a["carrier_status_description"] = e.description
		}
	}
	a["events"] = events
	if status == "DE" && len(l.events) > 0 {
		a["actual_delivery_date"] = l.events[len(l.events)-1].at.Format("2006-01-02T15:04:05Z")
	}
	if status == "EX" && len(l.events) > 0 {
		a["exception_description"] = l.events[len(l.events)-1].description
	}
	return a
}

var labelsTmpl = template.Must(template.New("labels").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Local ShipEngine: labels</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4rem .6rem;text-align:left}form{display:inline}</style>
</head><body>
<h1>Local ShipEngine: labels</h1>
<p>Stands in for ShipEngine: open a label, or move its tracking as the carrier would. Each move sends the signed track webhook.</p>
<table><tr><th>label</th><th>tracking</th><th>ship to</th><th>status</th><th></th></tr>
{{range .Rows}}<tr><td><a href="{{.URL}}">{{.ID}}</a></td><td>{{.Tracking}}</td><td>{{.To}}</td><td>{{.Status}}</td>
<td>{{if not .Voided}}{{$id := .ID}}{{range $.Moves}}<form method="post" action="/_local/labels/{{$id}}/{{.}}"><button>{{.}}</button></form> {{end}}{{end}}</td></tr>
{{else}}<tr><td colspan="5">No labels yet.</td></tr>{{end}}
</table></body></html>`))

type labelRow struct {
	ID, URL, Tracking, To, Status string
	Voided                        bool
}

func (s *Server) labelsPage(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	rows := []labelRow{}
	for _, l := range s.lab.labels {
		st := l.trackCode
		if st == "" {
			st = "NY"
		}
		st = statusDescriptions[st]
		if !l.voidedAt.IsZero() {
			st = "Voided"
		}
		to := l.rate.shipment.ShipTo
		rows = append(rows, labelRow{ID: l.id, URL: s.URL + "/v1/downloads/labels/" + l.id + "." + l.format, Tracking: l.tracking,
			To: to.Name + ", " + to.CityLocality + " " + to.StateProvince, Status: st, Voided: !l.voidedAt.IsZero()})
	}
	s.mu.Unlock()
	sort.Slice(rows, func(a, b int) bool { return rows[a].ID > rows[b].ID })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = labelsTmpl.Execute(w, map[string]any{"Moves": Moves, "Rows": rows})
}

func (s *Server) labelsPageAction(w http.ResponseWriter, r *http.Request) {
	if err := s.Track(r.PathValue("label_id"), r.PathValue("move")); err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	http.Redirect(w, r, "/_local/labels", http.StatusSeeOther)
}

// SigningKey is the key the fake signs its webhooks with and its id in
// the key set it publishes, so that a test can sign a delivery of its
// own as ShipEngine would.
func (s *Server) SigningKey() (kid string, key *rsa.PrivateKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trk.kid, s.trk.key
}
