package shipenginefake

// Labels: the fake sells a label for any rate it quoted (POST
// /v1/labels/rates/{rate_id}), lists them (GET /v1/labels, filtered by
// rate_id, shipment_id, tracking_number, label_status), finds one by the
// external_shipment_id its shipment was quoted with, reads one, voids one
// (PUT /v1/labels/{label_id}/void) and serves its file: a one-page PDF
// with the tracking number as text, or ZPL. It sells a second label for
// the same rate if asked, as nothing in ShipEngine's description says it
// would not: not buying twice is the client's job.
//
// Refusals: NoFunds (insufficient_funds), ExpireRate (the rate is no
// longer honoured), a ship_to whose address_line1 contains "NO SUCH"
// (invalid_address), an unknown rate (invalid_identifier); a label marked
// with MarkUsed is not voided (approved: false).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/readyplanner/oms/internal/fakehold"
	"github.com/readyplanner/oms/internal/shipengine"
)

type quotedRate struct {
	rate       shipengine.WireRate
	shipmentID string
	externalID string
	shipment   shipengine.Shipment
	shipDate   time.Time
	expired    bool
}

type soldLabel struct {
	id, rateID, tracking, format, layout string
	rate                                 *quotedRate
	created                              time.Time
	voidedAt                             time.Time
	used                                 bool
	trackCode                            string // tracking's status code ("": not yet in system)
	events                               []trackEvent
}

type labelState struct {
	rates   map[string]*quotedRate
	labels  []*soldLabel
	serial  int
	noFunds bool
}

func (s *Server) labelRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/labels/rates/{rate_id}", s.wrapRequest(s.buyLabel))
	mux.HandleFunc("GET /v1/labels", s.wrapRequest(s.listLabels))
	// /v1/labels/external_shipment_id/{id} and /v1/labels/{label_id}/track
	// share a shape: one route tells them apart.
	mux.HandleFunc("GET /v1/labels/{first}/{second}", s.wrapRequest(func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.PathValue("first") == "external_shipment_id":
			s.labelByExternalID(w, r.PathValue("second"))
		case r.PathValue("second") == "track":
			s.track(w, r.PathValue("first"))
		default:
			writeError(w, http.StatusNotFound, "shipengine", "validation", "not_found", "The requested resource was not found.")
		}
	}))
	mux.HandleFunc("GET /v1/labels/{label_id}", s.wrapRequest(s.getLabel))
	mux.HandleFunc("PUT /v1/labels/{label_id}/void", s.wrapRequest(s.voidLabel))
	mux.HandleFunc("GET /v1/downloads/labels/{file}", s.download) // a label's file needs no key, as ShipEngine's links
}

func (s *Server) rememberRates(shipmentID string, sh shipengine.Shipment, ship time.Time, rates []shipengine.WireRate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lab.rates == nil {
		s.lab.rates = map[string]*quotedRate{}
	}
	for _, r := range rates {
		s.lab.rates[r.RateID] = &quotedRate{rate: r, shipmentID: shipmentID, externalID: sh.ExternalShipmentID, shipment: sh, shipDate: ship}
	}
}

// NoFunds makes every label purchase fail for want of funds while on.
func (s *Server) NoFunds(on bool) { s.mu.Lock(); s.lab.noFunds = on; s.mu.Unlock() }

// ExpireRate makes ShipEngine no longer honour a rate it quoted.
func (s *Server) ExpireRate(rateID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.lab.rates[rateID]; r != nil {
		r.expired = true
	}
}

// MarkUsed marks a label as scanned by the carrier: it can no longer be
// voided.
func (s *Server) MarkUsed(labelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lab.labels {
		if l.id == labelID {
			l.used = true
		}
	}
}

// HoldNext holds back the answer of the next request whose method is
// method, whose path ends with path and whose body contains contains (""
// for any): the request is applied (the label sold), then its answer
// waits until the returned hold is released — or is lost, if the client
// gave up meanwhile.
func (s *Server) HoldNext(method, path, contains string) *fakehold.Hold {
	return s.holds.Next(method, path, contains)
}

// Labels returns how many labels were sold for a rate ("" for all).
func (s *Server) Labels(rateID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.lab.labels {
		if rateID == "" || l.rateID == rateID {
			n++
		}
	}
	return n
}

func (s *Server) buyLabel(w http.ResponseWriter, r *http.Request, body []byte) {
	rateID := r.PathValue("rate_id")
	var in shipengine.LabelRequest
	if len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			writeError(w, http.StatusBadRequest, "shipengine", "validation", "invalid_field_value", "The request body is not valid for a label purchase: "+err.Error())
			return
		}
	}
	if in.LabelFormat == "" {
		in.LabelFormat = "pdf"
	}
	if in.LabelLayout == "" {
		in.LabelLayout = "4x6"
	}
	switch {
	case in.LabelFormat != "pdf" && in.LabelFormat != "zpl" && in.LabelFormat != "png":
		writeError(w, http.StatusBadRequest, "shipengine", "validation", "invalid_field_value", "label_format must be one of pdf, png, zpl")
		return
	case in.LabelLayout != "4x6" && (in.LabelLayout != "letter" || in.LabelFormat != "pdf"):
		writeError(w, http.StatusBadRequest, "shipengine", "validation", "invalid_field_value", "label_layout "+in.LabelLayout+" is not supported for "+in.LabelFormat)
		return
	}
	s.mu.Lock()
	rate := s.lab.rates[rateID]
	noFunds := s.lab.noFunds
	switch {
	case rate == nil:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "shipengine", "validation", "invalid_identifier", fmt.Sprintf("rate_id %s was not found", rateID))
		return
	case rate.expired:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "shipengine", "business_rules", "invalid_status", fmt.Sprintf("The rate %s has expired. Please get a new rate for this shipment.", rateID))
		return
	case strings.Contains(strings.ToUpper(rate.shipment.ShipTo.AddressLine1), "NO SUCH"):
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "carrier", "validation", "invalid_address", "Invalid ship_to address: the carrier could not find the address.")
		return
	case noFunds:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "shipengine", "account_status", "insufficient_funds",
			"You do not have sufficient funds in your carrier account to purchase this label. Please add funds and try again.")
		return
	}
	s.lab.serial++
	l := &soldLabel{id: fmt.Sprintf("se-%d", 700000000+s.lab.serial), rateID: rateID, rate: rate, format: in.LabelFormat, layout: in.LabelLayout,
		created: s.now().UTC()}
	l.tracking = fmt.Sprintf("9400111%015d", 202600000000000+int64(s.lab.serial)) // a USPS-like 22 digits
	if rate.rate.CarrierCode == "ups" {
		l.tracking = fmt.Sprintf("1Z999AA1%010d", s.lab.serial)
	}
	s.lab.labels = append(s.lab.labels, l)
	answer := s.labelAnswer(l)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) listLabels(w http.ResponseWriter, r *http.Request, _ []byte) {
	q := r.URL.Query()
	page, size := 1, 25
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v >= 1 {
		page = v
	}
	if v, err := strconv.Atoi(q.Get("page_size")); err == nil && v >= 1 {
		size = v
	}
	s.mu.Lock()
	var match []*soldLabel
	for _, l := range s.lab.labels {
		if (q.Get("rate_id") == "" || l.rateID == q.Get("rate_id")) && (q.Get("shipment_id") == "" || l.rate.shipmentID == q.Get("shipment_id")) &&
			(q.Get("tracking_number") == "" || l.tracking == q.Get("tracking_number")) && (q.Get("label_status") == "" || l.status() == q.Get("label_status")) {
			match = append(match, l)
		}
	}
	// Newest first unless sort_dir=asc, as ShipEngine lists.
	sort.SliceStable(match, func(i, j int) bool { return match[i].created.After(match[j].created) })
	if q.Get("sort_dir") == "asc" {
		sort.SliceStable(match, func(i, j int) bool { return match[i].created.Before(match[j].created) })
	}
	pages := (len(match) + size - 1) / size
	from, to := min((page-1)*size, len(match)), min(page*size, len(match))
	labels := make([]map[string]any, 0, to-from)
	for _, l := range match[from:to] {
		labels = append(labels, s.labelAnswer(l))
	}
	s.mu.Unlock()
	link := func(p int) map[string]any {
		v := q
		v.Set("page", strconv.Itoa(p))
		return map[string]any{"href": s.URL + "/v1/labels?" + v.Encode()}
	}
	links := map[string]any{"first": link(1), "last": link(max(pages, 1)), "prev": map[string]any{}, "next": map[string]any{}}
	if page > 1 {
		links["prev"] = link(page - 1)
	}
	if page < pages {
		links["next"] = link(page + 1)
	}
	writeJSON(w, http.StatusOK, map[string]any{"labels": labels, "total": len(match), "page": page, "pages": pages, "links": links})
}

func (s *Server) find(match func(*soldLabel) bool) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lab.labels {
		if match(l) {
			return s.labelAnswer(l)
		}
	}
	return nil
}

func (s *Server) labelByExternalID(w http.ResponseWriter, id string) {
	if a := s.find(func(l *soldLabel) bool { return l.rate.externalID == id }); a != nil {
		writeJSON(w, http.StatusOK, a)
		return
	}
	writeError(w, http.StatusNotFound, "shipengine", "validation", "invalid_identifier", fmt.Sprintf("No label was found with external_shipment_id %s", id))
}

func (s *Server) getLabel(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("label_id")
	if a := s.find(func(l *soldLabel) bool { return l.id == id }); a != nil {
		writeJSON(w, http.StatusOK, a)
		return
	}
	writeError(w, http.StatusNotFound, "shipengine", "validation", "invalid_identifier", fmt.Sprintf("label_id %s was not found", id))
}

func (s *Server) voidLabel(w http.ResponseWriter, r *http.Request, _ []byte) {
	id := r.PathValue("label_id")
	s.mu.Lock()
	var l *soldLabel
	for _, x := range s.lab.labels {
		if x.id == id {
			l = x
		}
	}
	var answer shipengine.VoidAnswer
	switch {
	case l == nil:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "shipengine", "validation", "invalid_identifier", fmt.Sprintf("label_id %s was not found", id))
		return
	case !l.voidedAt.IsZero():
		answer = shipengine.VoidAnswer{Approved: false, Message: "This label has already been voided."}
	case l.used:
		answer = shipengine.VoidAnswer{Approved: false, Message: "The label could not be voided: the carrier has already scanned the package."}
	default:
		l.voidedAt = s.now().UTC()
		answer = shipengine.VoidAnswer{Approved: true, Message: "Request for refund submitted.  This label has been voided."}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
}

func (l *soldLabel) status() string {
	if !l.voidedAt.IsZero() {
		return "voided"
	}
	return "completed"
}

func amount(a shipengine.Amount) map[string]any {
	if a.Amount == "" {
		a.Amount = "0.0"
	}
	return map[string]any{"currency": a.Currency, "amount": a.Amount}
}

// labelAnswer is a label in ShipEngine's shape. Under s.mu.
func (s *Server) labelAnswer(l *soldLabel) map[string]any {
	r := l.rate.rate
	cents := func(a shipengine.Amount) int64 {
		f, _ := a.Amount.Float64()
		return int64(f*100 + 0.5)
	}
	shipCost := cents(r.ShippingAmount) + cents(r.ConfirmationAmount) + cents(r.OtherAmount)
	var voidedAt any
	if !l.voidedAt.IsZero() {
		voidedAt = l.voidedAt.Format("2006-01-02T15:04:05.000Z")
	}
	base := s.URL + "/v1/downloads/labels/" + l.id
	download := map[string]any{"href": base + "." + l.format, "pdf": base + ".pdf", "zpl": base + ".zpl"}
	if l.format == "png" {
		download["png"] = base + ".png"
	}
	pkg := l.rate.shipment.Packages
	packages := make([]map[string]any, 0, len(pkg))
	for _, p := range pkg {
		e := map[string]any{"package_code": "package", "weight": p.Weight, "tracking_number": l.tracking,
			"insured_value": map[string]any{"currency": "usd", "amount": json.Number("0.0")}}
		if p.Dimensions != nil {
			e["dimensions"] = p.Dimensions
		}
		packages = append(packages, e)
	}
	return map[string]any{
		"label_id": l.id, "status": l.status(), "shipment_id": l.rate.shipmentID,
		"ship_date": l.rate.shipDate.Format("2006-01-02T15:04:05Z"), "created_at": l.created.Format("2006-01-02T15:04:05.000Z"),
		"shipment_cost":   map[string]any{"currency": "usd", "amount": json.Number(fmt.Sprintf("%d.%02d", shipCost/100, shipCost%100))},
		"insurance_cost":  amount(r.InsuranceAmount),
		"tracking_number": l.tracking, "is_return_label": false, "rma_number": nil,
		"is_international": l.rate.shipment.ShipTo.CountryCode != l.rate.shipment.ShipFrom.CountryCode,
		"carrier_id":       r.CarrierID, "charge_event": "carrier_default", "service_code": r.ServiceCode, "package_code": "package",
		"voided": !l.voidedAt.IsZero(), "voided_at": voidedAt, "label_format": l.format, "display_scheme": "label", "label_layout": l.layout,
		"trackable": true, "label_image_id": nil, "carrier_code": r.CarrierCode, "tracking_status": "in_transit",
		"label_download": download, "form_download": nil, "insurance_claim": nil, "packages": packages,
	}
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		http.NotFound(w, r)
		return
	}
	id, ext := file[:dot], file[dot+1:]
	s.mu.Lock()
	var l *soldLabel
	for _, x := range s.lab.labels {
		if x.id == id {
			l = x
		}
	}
	var lines []string
	if l != nil {
		sh := l.rate.shipment
		lines = []string{l.rate.rate.CarrierFriendlyName + " - " + l.rate.rate.ServiceType, "TRACKING # " + l.tracking,
			"SHIP TO: " + sh.ShipTo.Name, sh.ShipTo.AddressLine1, sh.ShipTo.CityLocality + " " + sh.ShipTo.StateProvince + " " + sh.ShipTo.PostalCode,
			"FROM: " + sh.ShipFrom.Name + ", " + sh.ShipFrom.PostalCode, "LOCAL SHIPENGINE - NOT A REAL LABEL"}
		if !l.voidedAt.IsZero() {
			lines = append(lines, "VOIDED")
		}
	}
	s.mu.Unlock()
	switch {
	case l == nil:
		http.NotFound(w, r)
	case ext == "pdf":
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(PDF(lines))
	case ext == "zpl":
		w.Header().Set("Content-Type", "text/plain")
		var b strings.Builder
		b.WriteString("^XA\n")
		for i, line := range lines {
			fmt.Fprintf(&b, "^FO50,%d^A0N,30,30^FD%s^FS\n", 50+40*i, line)
		}
		fmt.Fprintf(&b, "^FO50,%d^BCN,100,Y,N,N^FD%s^FS\n^XZ\n", 60+40*len(lines), l.tracking)
		_, _ = w.Write([]byte(b.String()))
	default:
		http.NotFound(w, r)
	}
}

// PDF is a one-page 4×6 inch PDF showing lines of text (Helvetica), with
// a correct cross-reference table, so that any viewer opens it.
func PDF(lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 14 Tf 24 400 Td 18 TL\n")
	for _, line := range lines {
		esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(line)
		var ascii strings.Builder
		for _, r := range esc {
			if r < 32 || r > 126 {
				r = '?'
			}
			ascii.WriteRune(r)
		}
		fmt.Fprintf(&content, "(%s) Tj T*\n", ascii.String())
	}
	content.WriteString("ET")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
