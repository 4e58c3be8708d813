package console

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// QuickBooks is the QuickBooks connection as the console shows and
// renews it (wired by internal/app from the token store).
type QuickBooks struct {
	// Status reads the connection (never its tokens).
	Status func(ctx context.Context) (QuickBooksStatus, error)
	// MintKey makes a one-time key that quickbooksConnect takes instead
	// of an ID token, valid for a while.
	MintKey func(ctx context.Context) (key string, expires time.Time, err error)
	// ConnectURL is quickbooksConnect's public URL.
	ConnectURL string
}

// QuickBooksStatus is the connection's state.
type QuickBooksStatus struct {
	RealmID   string
	Connected bool
	Reason    string // why it is disconnected
	Since     time.Time
}

// quickbooks shows the connection: connected to which company, or why
// not, with the button that connects (or reconnects) it.
func (c *Console) quickbooks(q request) {
	data := map[string]any{"Page": c.page(q), "Configured": c.QuickBooks != nil}
	if c.QuickBooks != nil {
		st, err := c.QuickBooks.Status(q.r.Context())
		if err != nil {
			c.failErr(q.w, q.r, err)
			return
		}
		data["Status"] = st
	}
	c.render(q.w, q.r, http.StatusOK, "quickbooks", data)
}

// connectQuickBooks sends the owner to quickbooksConnect with a fresh
// one-time key: Intuit's consent page, then back to quickbooksCallback.
func (c *Console) connectQuickBooks(q request) {
	if c.QuickBooks == nil {
		c.fail(q.w, q.r, http.StatusServiceUnavailable, "QuickBooks is not configured (QUICKBOOKS_CLIENT_ID, QUICKBOOKS_CLIENT_SECRET).")
		return
	}
	key, _, err := c.QuickBooks.MintKey(q.r.Context())
	if err != nil {
		c.failErr(q.w, q.r, err)
		return
	}
	http.Redirect(q.w, q.r, c.QuickBooks.ConnectURL+"?key="+url.QueryEscape(key), http.StatusSeeOther)
}
