package order

import (
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/catalog"
	"github.com/readyplanner/oms/internal/pricing"
)

// The part table as the docs describe it, written out independently of
// the implementation's map so that a change to either shows up here.
var wantPartMoves = map[[2]string]bool{
	{PartWaiting, PartLabelled}: true, {PartWaiting, PartSubmitted}: true, {PartWaiting, PartShipped}: true, {PartWaiting, PartCanceled}: true,
	{PartLabelled, PartWaiting}: true, {PartLabelled, PartShipped}: true, {PartLabelled, PartCanceled}: true,
	{PartSubmitted, PartInProduction}: true, {PartSubmitted, PartShipped}: true, {PartSubmitted, PartFailed}: true, {PartSubmitted, PartCanceled}: true,
	{PartInProduction, PartShipped}: true, {PartInProduction, PartFailed}: true, {PartInProduction, PartCanceled}: true,
	{PartShipped, PartInTransit}: true, {PartShipped, PartOutForDelivery}: true, {PartShipped, PartException}: true, {PartShipped, PartDelivered}: true,
	{PartInTransit, PartOutForDelivery}: true, {PartInTransit, PartException}: true, {PartInTransit, PartDelivered}: true,
	{PartOutForDelivery, PartInTransit}: true, {PartOutForDelivery, PartException}: true, {PartOutForDelivery, PartDelivered}: true,
	{PartException, PartInTransit}: true, {PartException, PartOutForDelivery}: true, {PartException, PartDelivered}: true,
	{PartFailed, PartWaiting}: true, {PartFailed, PartCanceled}: true,
}

// withPart returns an order in state s with one print part in status.
func withPart(t *testing.T, s State, status string) *Order {
	t.Helper()
	o := at(t, s)
	o.Parts = []Part{{ID: PartPrint, Kind: PartPrint, Status: status, JobID: "job-1", CreatedAt: t0, UpdatedAt: t0}}
	return o
}

func TestEveryPartMove(t *testing.T) {
	later := t0.Add(time.Minute)
	for _, from := range PartStatuses {
		for _, to := range PartStatuses {
			o := withPart(t, Fulfilling, from)
			if got, want := CanMovePart(from, to), wantPartMoves[[2]string{from, to}]; got != want {
				t.Errorf("CanMovePart(%s, %s) = %v, want %v", from, to, got, want)
			}
			changed, err := o.MovePart(PartPrint, to, later)
			p := o.Part(PartPrint)
			switch {
			case from == to:
				if changed || err != nil || !p.UpdatedAt.Equal(t0) {
					t.Errorf("%s → %s: changed=%v err=%v updated=%v, want nothing to do", from, to, changed, err, p.UpdatedAt)
				}
			case wantPartMoves[[2]string{from, to}]:
				if !changed || err != nil || p.Status != to || !p.UpdatedAt.Equal(later) {
					t.Errorf("%s → %s: changed=%v err=%v status=%s updated=%v, want moved", from, to, changed, err, p.Status, p.UpdatedAt)
				}
			default:
				if changed || apperr.CodeOf(err) != apperr.FailedPrecondition || reasonOf(err) != ReasonBadPartMove {
					t.Errorf("%s → %s: changed=%v err=%v, want FAILED_PRECONDITION %s", from, to, changed, err, ReasonBadPartMove)
				}
				if p.Status != from || !p.UpdatedAt.Equal(t0) {
					t.Errorf("%s → %s: a refused move changed the part: %+v", from, to, *p)
				}
			}
		}
	}
	n := 0
	for _, from := range PartStatuses {
		n += len(NextPart(from))
	}
	if n != len(wantPartMoves) {
		t.Errorf("part table has %d moves, want %d", n, len(wantPartMoves))
	}
	for _, terminal := range []string{PartDelivered, PartCanceled} {
		if len(NextPart(terminal)) != 0 {
			t.Errorf("%s is not terminal: %v", terminal, NextPart(terminal))
		}
	}
}

func TestMovePartRefusesUnknowns(t *testing.T) {
	o := withPart(t, Fulfilling, PartWaiting)
	if _, err := o.MovePart(PartParcel, PartShipped, t0); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("unknown part: %v, want NOT_FOUND", err)
	}
	if _, err := o.MovePart(PartPrint, "lost", t0); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("unknown status: %v, want INVALID", err)
	}
	if ValidPartStatus("lost") || !ValidPartStatus(PartInProduction) {
		t.Error("ValidPartStatus")
	}
}

// ShipPart ships a part only from where the part table allows it.
func TestShipPartFollowsThePartTable(t *testing.T) {
	for _, from := range PartStatuses {
		o := withPart(t, Fulfilling, from)
		changed, err := o.ShipPart(PartPrint, Tracking{Carrier: "UPS", TrackingNumber: "1Z"}, "owner", t0.Add(time.Minute))
		p := o.Part(PartPrint)
		switch {
		case (Part{Status: from}).Shipped():
			if changed || apperr.CodeOf(err) != apperr.FailedPrecondition || reasonOf(err) != "already_shipped" {
				t.Errorf("%s: changed=%v err=%v, want already_shipped", from, changed, err)
			}
		case CanMovePart(from, PartShipped):
			if !changed || err != nil || p.Status != PartShipped || p.Carrier != "UPS" || o.State() != Shipped {
				t.Errorf("%s: changed=%v err=%v part=%+v state=%s, want shipped", from, changed, err, *p, o.State())
			}
		default:
			if changed || reasonOf(err) != ReasonBadPartMove || p.Status != from || p.Carrier != "" || o.State() != Fulfilling {
				t.Errorf("%s: changed=%v err=%v part=%+v, want %s and nothing changed", from, changed, err, *p, ReasonBadPartMove)
			}
		}
	}
}

func TestFulfilSplitsOnceAndMoves(t *testing.T) {
	o := at(t, Paid)
	o.Lines = []pricing.Line{{SKU: "BOOK", Quantity: 1, Fulfillment: catalog.PrintOnDemand}, {SKU: "MUG", Quantity: 2, Fulfillment: catalog.Stock}}
	if moved, err := o.Fulfil("trigger", t0); !moved || err != nil || o.State() != Fulfilling || len(o.Parts) != 2 {
		t.Fatalf("Fulfil: moved=%v err=%v state=%s parts=%+v", moved, err, o.State(), o.Parts)
	}
	for _, p := range o.Parts {
		if p.Status != PartWaiting || !ValidPartStatus(p.Status) {
			t.Errorf("part %s is %s, want waiting", p.ID, p.Status)
		}
	}
	if moved, err := o.Fulfil("trigger", t0); moved || err != nil || len(o.Parts) != 2 {
		t.Errorf("Fulfil again: moved=%v err=%v parts=%d, want nothing to do", moved, err, len(o.Parts))
	}
	if _, err := at(t, Approved).Fulfil("trigger", t0); apperr.CodeOf(err) != apperr.FailedPrecondition {
		t.Errorf("Fulfil approved: %v, want FAILED_PRECONDITION", err)
	}
}

func TestClaimPrintJob(t *testing.T) {
	o := withPart(t, Fulfilling, PartWaiting)
	o.Parts[0].JobID = ""
	if !o.ClaimPrintJob(time.Minute, t0) || !o.Parts[0].SubmitStarted.Equal(t0) {
		t.Fatal("the first claim is refused")
	}
	if o.ClaimPrintJob(time.Minute, t0.Add(30*time.Second)) {
		t.Error("a second claim while the first stands is taken")
	}
	if !o.ClaimPrintJob(time.Minute, t0.Add(2*time.Minute)) {
		t.Error("a claim after the first lapsed is refused")
	}
	o.Parts[0].JobID = "job-1"
	if o.ClaimPrintJob(time.Minute, t0.Add(time.Hour)) {
		t.Error("a part with a job is claimed")
	}
	if o := withPart(t, NeedsAttention, PartWaiting); o.ClaimPrintJob(time.Minute, t0) {
		t.Error("a part of an order that is not fulfilling is claimed")
	}
}

// A claim is released by its runner only (as stored, to the microsecond),
// and only while the part has no job; then the next runner claims at once.
func TestReleasePrintJobClaim(t *testing.T) {
	o := withPart(t, Fulfilling, PartWaiting)
	o.Parts[0].JobID = ""
	claimed := t0.Add(123456789 * time.Nanosecond)
	if !o.ClaimPrintJob(time.Minute, claimed) {
		t.Fatal("the claim is refused")
	}
	o.Parts[0].SubmitStarted = claimed.Truncate(time.Microsecond) // read back from Firestore
	if o.ReleasePrintJobClaim(t0.Add(time.Second)) {
		t.Error("another runner's claim was released")
	}
	if !o.ReleasePrintJobClaim(claimed) || !o.Parts[0].SubmitStarted.IsZero() {
		t.Fatal("the runner's own claim was not released")
	}
	if !o.ClaimPrintJob(time.Minute, t0.Add(2*time.Second)) {
		t.Error("after the release the next runner waits")
	}
	o.Parts[0].JobID = "job-1"
	if o.ReleasePrintJobClaim(t0.Add(2 * time.Second)) {
		t.Error("a part with its job had its claim released")
	}
}

// RecordPrintJob: what the printer says moves the part along the table;
// a status the part cannot reach leaves it alone.
func TestRecordPrintJob(t *testing.T) {
	later := t0.Add(time.Minute)
	tracking := Tracking{Carrier: "UPS", TrackingNumber: "1Z", TrackingURL: "https://ups.example/1Z"}
	tests := []struct {
		name        string
		state       State
		from, jobID string // the part's status and job before
		job         PrintJob
		wantStatus  string
		wantState   State
		wantChanged bool
	}{
		{"first job recorded", Fulfilling, PartWaiting, "", PrintJob{ID: "job-1", PrinterStatus: "CREATED", Part: PartSubmitted}, PartSubmitted, Fulfilling, true},
		{"first job, already in production", Fulfilling, PartWaiting, "", PrintJob{ID: "job-1", PrinterStatus: "IN_PRODUCTION", Part: PartInProduction}, PartInProduction, Fulfilling, true},
		{"first job, already shipped", Fulfilling, PartWaiting, "", PrintJob{ID: "job-1", PrinterStatus: "SHIPPED", Part: PartShipped, Tracking: tracking}, PartShipped, Shipped, true},
		{"first job, already delivered", Fulfilling, PartWaiting, "", PrintJob{ID: "job-1", PrinterStatus: "DELIVERED", Part: PartDelivered, Tracking: tracking}, PartDelivered, Shipped, true},
		{"a canceled part keeps its status", Canceled, PartCanceled, "", PrintJob{ID: "job-1", PrinterStatus: "CREATED", Part: PartSubmitted}, PartCanceled, Canceled, true},
		{"another job", Fulfilling, PartSubmitted, "job-1", PrintJob{ID: "job-2", PrinterStatus: "REJECTED", Part: PartFailed}, PartSubmitted, Fulfilling, false},
		{"the same again", Fulfilling, PartSubmitted, "job-1", PrintJob{ID: "job-1", PrinterStatus: "", Part: PartSubmitted}, PartSubmitted, Fulfilling, false},
		{"printer status only", Fulfilling, PartSubmitted, "job-1", PrintJob{ID: "job-1", PrinterStatus: "UNPAID", Part: PartSubmitted}, PartSubmitted, Fulfilling, true},
		{"in production", Fulfilling, PartSubmitted, "job-1", PrintJob{ID: "job-1", PrinterStatus: "IN_PRODUCTION", Part: PartInProduction}, PartInProduction, Fulfilling, true},
		{"shipped", Fulfilling, PartInProduction, "job-1", PrintJob{ID: "job-1", PrinterStatus: "SHIPPED", Part: PartShipped, Tracking: tracking}, PartShipped, Shipped, true},
		{"delivered after shipped", Shipped, PartShipped, "job-1", PrintJob{ID: "job-1", PrinterStatus: "DELIVERED", Part: PartDelivered}, PartDelivered, Shipped, true},
		{"shipped while the order needs the owner", NeedsAttention, PartInProduction, "job-1", PrintJob{ID: "job-1", PrinterStatus: "SHIPPED", Part: PartShipped}, PartInProduction, NeedsAttention, true},
		{"refused", Fulfilling, PartSubmitted, "job-1", PrintJob{ID: "job-1", PrinterStatus: "REJECTED", Part: PartFailed, Message: "bad file"}, PartFailed, NeedsAttention, true},
		{"lost in production", Fulfilling, PartInProduction, "job-1", PrintJob{ID: "job-1", PrinterStatus: "ERROR", Part: PartFailed}, PartFailed, NeedsAttention, true},
		{"a canceled part's job canceled", Canceled, PartCanceled, "job-1", PrintJob{ID: "job-1", PrinterStatus: "CANCELED", Part: PartFailed}, PartCanceled, Canceled, true},
		{"a shipped part's job errs", Shipped, PartShipped, "job-1", PrintJob{ID: "job-1", PrinterStatus: "ERROR", Part: PartFailed}, PartShipped, Shipped, true},
		{"failed again", NeedsAttention, PartFailed, "job-1", PrintJob{ID: "job-1", PrinterStatus: "REJECTED", Part: PartFailed}, PartFailed, NeedsAttention, false},
		// The owner sent the part back (retryOrder) after the printer
		// rejected its job: a late or repeated event of that job must not
		// fail it again; the part waits for its new job.
		{"an ended job is no waiting part's", Fulfilling, PartWaiting, "", PrintJob{ID: "job-1", PrinterStatus: "REJECTED", Part: PartFailed}, PartWaiting, Fulfilling, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := withPart(t, tt.state, tt.from)
			o.Parts[0].JobID = tt.jobID
			o.Parts[0].PrinterStatus = ""
			if !tt.wantChanged {
				o.Parts[0].PrinterStatus = tt.job.PrinterStatus // read before: only a new status changes the part
			}
			changed, err := o.RecordPrintJob(tt.job, later)
			p := o.Part(PartPrint)
			if err != nil || changed != tt.wantChanged || p.Status != tt.wantStatus || o.State() != tt.wantState {
				t.Fatalf("changed=%v err=%v status=%s state=%s, want changed=%v %s %s", changed, err, p.Status, o.State(), tt.wantChanged, tt.wantStatus, tt.wantState)
			}
			if changed && !p.UpdatedAt.Equal(later) {
				t.Errorf("updated %v, want %v", p.UpdatedAt, later)
			}
			if tt.wantStatus == PartShipped && tt.from != PartShipped && (p.Carrier != "UPS" || p.TrackingNumber != "1Z" || !p.ShippedAt.Equal(later)) {
				t.Errorf("shipped part %+v, want its tracking", *p)
			}
			if tt.wantState == NeedsAttention && tt.state != NeedsAttention && !strings.Contains(o.Attention, tt.job.PrinterStatus) {
				t.Errorf("attention %q, want the printer's status", o.Attention)
			}
		})
	}
}

func TestRetryAndCancelParts(t *testing.T) {
	later := t0.Add(time.Minute)
	o := withPart(t, NeedsAttention, PartFailed)
	o.Parts[0].PrinterStatus, o.Parts[0].SubmitStarted = "REJECTED", t0
	if !o.RetryPrintPart(later) {
		t.Fatal("a failed print part is not sent back")
	}
	if p := o.Parts[0]; p.Status != PartWaiting || p.JobID != "" || p.PrinterStatus != "" || !p.SubmitStarted.IsZero() || !p.UpdatedAt.Equal(later) {
		t.Errorf("retried part %+v", p)
	}
	if o.RetryPrintPart(later) {
		t.Error("a waiting part is sent back again")
	}

	o = at(t, Canceled)
	for _, s := range PartStatuses {
		o.Parts = append(o.Parts, Part{ID: s, Status: s, SubmitStarted: t0, UpdatedAt: t0})
	}
	if !o.CancelParts(later) {
		t.Fatal("CancelParts changed nothing")
	}
	for _, p := range o.Parts {
		want := p.ID // its status before
		if CanMovePart(want, PartCanceled) {
			want = PartCanceled
		}
		if p.Status != want {
			t.Errorf("part %s is %s, want %s", p.ID, p.Status, want)
		}
		if moved := p.ID != p.Status; moved && (!p.SubmitStarted.IsZero() || !p.UpdatedAt.Equal(later)) {
			t.Errorf("canceled part %+v keeps its claim or time", p)
		}
	}
	if o.CancelParts(later) {
		t.Error("CancelParts again changed something")
	}
}
