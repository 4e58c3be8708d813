package owner

// The owner's commands on orders. Each carries a request id: the same id
// again answers what the first did and changes nothing (the order
// remembers its latest requests); a different id is a new, deliberate
// act.

// Command names, as the order remembers them.
const (
	CommandRetry  = "retryOrder"
	CommandCancel = "cancelOrder"
	CommandRefund = "refundOrder"
)

// RetryOrder sends an order that needs the owner back to the step that
// failed.
type RetryOrder struct {
	RequestID string
	OrderID   string
}

// CancelOrder cancels an order, with the owner's reason.
type CancelOrder struct {
	RequestID string
	OrderID   string
	Reason    string
}

// RefundOrder refunds part (Amount, minor units) or all (Full) of a
// charged order, with the owner's reason. The same amount again within
// DuplicateWindow under another request id is refused as a possible
// duplicate unless ConfirmDuplicate.
type RefundOrder struct {
	RequestID        string
	OrderID          string
	Amount           *int64
	Full             bool
	Reason           string
	ConfirmDuplicate bool
}
