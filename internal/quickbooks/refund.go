package quickbooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/money"
	"github.com/readyplanner/oms/internal/order"
)

// DefaultRefundItem is the item a refund receipt's line is recorded as
// when OMS_QUICKBOOKS_REFUND_ITEM does not name another.
const DefaultRefundItem = "Refunds"

// RefundReceipt is what this project reads of a refund receipt.
type RefundReceipt struct {
	ID        string
	DocNumber string
	Total     money.Money // tax included
	Tax       money.Money // TxnTaxDetail.TotalTax
}

// BuildRefundReceipt turns refund r of order o into the body of a
// QuickBooks RefundReceipt: the invoice's customer, the account the money
// leaves from (DepositToAccountRef), a line of the refund item for the
// amount, DocNumber <orderId>-R<n>, and a private note with the order,
// the Stripe refund and the owner's reason. A refund that gives back tax
// (r.Tax of r.Amount) carries it as tax says, as the invoice did: the
// refund item's line, of the rest, taxable and TxnTaxDetail stating the
// tax, or beside it a line of the sales tax item. Its total is r.Amount.
func BuildRefundReceipt(o *order.Order, r order.Refund, customerID, itemID, accountID string, tax TaxTreatment, txnDate time.Time) (map[string]any, error) {
	if r.Tax < 0 || r.Tax > r.Amount {
		return nil, apperr.New(apperr.FailedPrecondition, "refund %d of order %s gives back %s of tax out of %s", r.N, o.ID, moneyOf(o, r.Tax).Display(), moneyOf(o, r.Amount).Display())
	}
	note := fmt.Sprintf("Refund %d of order %s; Stripe refund %s; %s", r.N, o.ID, r.ProviderID, r.Reason)
	if len(note) > 4000 {
		note = note[:4000]
	}
	body := map[string]any{
		"CustomerRef":         Ref{Value: customerID},
		"DepositToAccountRef": Ref{Value: accountID},
		"DocNumber":           fmt.Sprintf("%s-R%d", o.ID, r.N),
		// A receipt paid from a Bank account is a check to QuickBooks:
		// without a reference number it waits "To Print". The refund's
		// document number is the reference (at most 21 characters).
		"PaymentRefNum": fmt.Sprintf("%s-R%d", o.ID, r.N),
		"TxnDate":       txnDate.Format("2006-01-02"),
		"PrivateNote":   note,
	}
	var lines []any
	// Written as sales tax, the tax is on the taxable refund line, kept
	// even at zero (a refund of tax alone); as an item, it needs none.
	if rest := moneyOf(o, r.Amount-r.Tax); rest.Amount > 0 || tax.Kind != TaxAsItem {
		lines = append(lines, salesLine(itemID, 1, rest, rest, tax.lineCode(r.Tax), fmt.Sprintf("Refund %d of order %s", r.N, o.ID)))
	}
	body["Line"] = lines
	if r.Tax > 0 {
		if err := tax.carry(body, moneyOf(o, r.Tax), fmt.Sprintf("Sales tax given back with refund %d of order %s", r.N, o.ID)); err != nil {
			return nil, err
		}
	}
	if o.Customer != nil {
		body["BillEmail"] = EmailAddr{Address: o.Customer.Email}
	}
	return body, nil
}

type wireRefundReceipt struct {
	ID           string      `json:"Id"`
	DocNumber    string      `json:"DocNumber"`
	TotalAmt     json.Number `json:"TotalAmt"`
	TxnTaxDetail *wireTax    `json:"TxnTaxDetail"`
}

// CreateRefundReceipt creates a refund receipt with a requestid: a
// repeated create with the same requestid answers the first receipt.
func (c *Client) CreateRefundReceipt(ctx context.Context, body any, requestID, currency string) (RefundReceipt, error) {
	if len(requestID) > 50 {
		return RefundReceipt{}, apperr.New(apperr.Invalid, "requestid %q is longer than 50 characters", requestID)
	}
	var ans struct{ RefundReceipt wireRefundReceipt }
	if err := c.Do(ctx, http.MethodPost, "refundreceipt", url.Values{"requestid": {requestID}}, body, &ans); err != nil {
		return RefundReceipt{}, err
	}
	total, err := Cents(ans.RefundReceipt.TotalAmt, currency)
	if err != nil {
		return RefundReceipt{}, err
	}
	tax, err := ans.RefundReceipt.TxnTaxDetail.total(currency)
	if err != nil {
		return RefundReceipt{}, err
	}
	return RefundReceipt{ID: ans.RefundReceipt.ID, DocNumber: ans.RefundReceipt.DocNumber, Total: total, Tax: tax}, nil
}

// PaymentAccount returns the account a payment was deposited to
// (DepositToAccountRef; QuickBooks fills in Undeposited Funds when the
// payment named none), "" when it names none.
func (c *Client) PaymentAccount(ctx context.Context, paymentID string) (string, error) {
	var ans struct {
		Payment struct {
			DepositToAccountRef *Ref `json:"DepositToAccountRef"`
		}
	}
	if err := c.Do(ctx, http.MethodGet, "payment/"+url.PathEscape(paymentID), nil, nil, &ans); err != nil {
		return "", err
	}
	if ans.Payment.DepositToAccountRef == nil {
		return "", nil
	}
	return ans.Payment.DepositToAccountRef.Value, nil
}

// AccountID returns the id of the account named name; NOT_FOUND if there
// is none.
func (c *Client) AccountID(ctx context.Context, name string) (string, error) {
	var found struct {
		Account []struct {
			ID string `json:"Id"`
		}
	}
	if err := c.Query(ctx, "select * from Account where Name = "+Quote(name), &found); err != nil {
		return "", err
	}
	if len(found.Account) == 0 {
		return "", apperr.New(apperr.NotFound, "QuickBooks has no account named %q (OMS_QUICKBOOKS_REFUND_ACCOUNT)", name)
	}
	return found.Account[0].ID, nil
}

// RecordRefund implements bookkeeping.Books: refund r of the order, made
// at Stripe, becomes a RefundReceipt of the invoice's customer, paid from
// the configured refund account or else the account the invoice's payment
// was deposited to, as a line of the refund item (and its share of the
// tax, written as the company writes sales tax); its requestid is the
// refund's key, so a repeat records nothing new. Its total must be the
// refund's to the cent.
func (b *Books) RecordRefund(ctx context.Context, o *order.Order, r order.Refund) (id string, err error) {
	if o.Invoice == nil {
		return "", apperr.New(apperr.FailedPrecondition, "order %s has no QuickBooks invoice to refund against", o.ID)
	}
	c, realm, err := b.client(ctx)
	if err != nil {
		return "", err
	}
	defer func() { b.forgetTaxUnlessTransient(realm, err) }()
	inv, err := c.GetInvoice(ctx, o.Invoice.ID, o.Currency)
	if err != nil {
		return "", err
	}
	account := ""
	if b.RefundAccount != "" {
		if account, err = c.AccountID(ctx, b.RefundAccount); err != nil {
			return "", err
		}
	} else if len(inv.Payments) > 0 {
		if account, err = c.PaymentAccount(ctx, inv.Payments[len(inv.Payments)-1]); err != nil {
			return "", err
		}
	}
	if account == "" {
		return "", apperr.New(apperr.FailedPrecondition, "invoice %s has no payment that says where the money went: set OMS_QUICKBOOKS_REFUND_ACCOUNT", inv.DocNumber)
	}
	itemName := b.RefundItem
	if itemName == "" {
		itemName = DefaultRefundItem
	}
	item, err := b.itemsFor(ctx, c).ID(ctx, itemName)
	if err != nil {
		return "", err
	}
	var tax TaxTreatment
	if r.Tax > 0 {
		if tax, err = b.taxTreatment(ctx, c); err != nil {
			return "", err
		}
	}
	body, err := BuildRefundReceipt(o, r, inv.Customer, item, account, tax, time.Now())
	if err != nil {
		return "", err
	}
	rr, err := c.CreateRefundReceipt(ctx, body, r.Key(o.ID), o.Currency)
	if err != nil {
		return "", err
	}
	if rr.Total.Amount != r.Amount {
		return "", apperr.New(apperr.FailedPrecondition, "QuickBooks totals refund receipt %s at %s (its tax %s), the refund is %s (its tax %s)",
			rr.ID, rr.Total.Display(), rr.Tax.Display(), moneyOf(o, r.Amount).Display(), moneyOf(o, r.Tax).Display())
	}
	return rr.ID, nil
}
