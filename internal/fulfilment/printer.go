package fulfilment

import (
	"context"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
)

// Printer is a print-on-demand service: it prints a job's lines and ships
// them to the customer. Lulu's Print API is the one built (internal/lulu);
// another printer implements the same.
//
// Errors: UNAVAILABLE when the printer is down, throttled or slow (retry
// later); FAILED_PRECONDITION (reason printer_refused) when it refused the
// job, with its words; NOT_FOUND for a job it does not know.
type Printer interface {
	// FindJob returns the live job whose external id is externalID (the
	// order id), or nil when there is none: how a job made before a crash
	// is found again instead of printed twice. A job that ended without
	// printing (rejected, canceled, error) is not live.
	FindJob(ctx context.Context, externalID string) (*PrintJob, error)
	// CreateJob creates a print job.
	CreateJob(ctx context.Context, r PrintJobRequest) (PrintJob, error)
	// Job reads a job again.
	Job(ctx context.Context, id string) (PrintJob, error)
	// CancelJob cancels a job that is not in production yet.
	CancelJob(ctx context.Context, id string) (PrintJob, error)
}

// The printer's job statuses this project acts on (Lulu's names). Others
// are recorded as they come.
const (
	JobCreated           = "CREATED"
	JobUnpaid            = "UNPAID"
	JobPaymentInProgress = "PAYMENT_IN_PROGRESS"
	JobProductionDelayed = "PRODUCTION_DELAYED"
	JobProductionReady   = "PRODUCTION_READY"
	JobInProduction      = "IN_PRODUCTION"
	JobShipped           = "SHIPPED"
	JobDelivered         = "DELIVERED"
	JobRejected          = "REJECTED"
	JobError             = "ERROR"
	JobCanceled          = "CANCELED"
)

// PrintJob is a job as the printer reports it.
type PrintJob struct {
	ID            string
	ExternalID    string
	Status        string // the printer's status name
	StatusMessage string // the printer's words about it (why it was rejected, …)
	Changed       time.Time
	// Tracking of the shipped job (the first line item's: one order is one
	// parcel at the printer).
	Carrier        string
	TrackingNumber string
	TrackingURL    string
}

// PrintLine is one printed item of a job.
type PrintLine struct {
	ExternalID   string // the SKU
	Title        string
	Quantity     int64
	PodPackageID string // the printer's product: size, binding, paper, colour
	InteriorURL  string
	CoverURL     string
}

// PrintAddress is where the printer ships, in the fields printers need.
type PrintAddress struct {
	Name        string
	Street1     string
	Street2     string
	City        string
	StateCode   string
	PostCode    string
	CountryCode string
	Phone       string
	Email       string
}

// PrintJobRequest is a job to create.
type PrintJobRequest struct {
	ExternalID    string // the order id
	ContactEmail  string
	ShippingLevel string
	Address       PrintAddress
	Lines         []PrintLine
}

// NoPrinter is the printer of an instance without printer keys: every
// call answers UNAVAILABLE naming the missing secrets, so that print parts
// wait (retried, re-driven) until the keys are configured.
type NoPrinter struct{}

var _ Printer = NoPrinter{}

var errNoPrinter = apperr.New(apperr.Unavailable, "the printer is not configured (LULU_CLIENT_KEY, LULU_CLIENT_SECRET)").Because("printer_not_configured")

// FindJob implements Printer.
func (NoPrinter) FindJob(context.Context, string) (*PrintJob, error) { return nil, errNoPrinter }

// CreateJob implements Printer.
func (NoPrinter) CreateJob(context.Context, PrintJobRequest) (PrintJob, error) {
	return PrintJob{}, errNoPrinter
}

// Job implements Printer.
func (NoPrinter) Job(context.Context, string) (PrintJob, error) { return PrintJob{}, errNoPrinter }

// CancelJob implements Printer.
func (NoPrinter) CancelJob(context.Context, string) (PrintJob, error) {
	return PrintJob{}, errNoPrinter
}
