package quickbooks

import (
	"net/url"
	"testing"
)

func TestAuthorizeURL(t *testing.T) {
	u, err := url.Parse(AuthorizeURL("", "ABclient", "https://us-central1-shop.cloudfunctions.net/quickbooksCallback", "v1.x.1.y"))
	if err != nil || u.Host != "appcenter.intuit.com" || u.Path != "/connect/oauth2" {
		t.Fatalf("%v %v", u, err)
	}
	q := u.Query()
	if q.Get("client_id") != "ABclient" || q.Get("response_type") != "code" || q.Get("scope") != "com.intuit.quickbooks.accounting" ||
		q.Get("redirect_uri") != "https://us-central1-shop.cloudfunctions.net/quickbooksCallback" || q.Get("state") != "v1.x.1.y" {
		t.Errorf("query %v", q)
	}
	for realm, ok := range map[string]bool{"9130350000000001": true, "123": true, "": false, "12a": false, "../1": false} {
		if ValidRealm(realm) != ok {
			t.Errorf("ValidRealm(%q) = %v", realm, !ok)
		}
	}
}

func TestInvoicePage(t *testing.T) {
	for base, want := range map[string]string{
		"https://quickbooks.api.intuit.com":         "https://app.qbo.intuit.com/app/invoice?txnId=130",
		"https://sandbox-quickbooks.api.intuit.com": "https://app.sandbox.qbo.intuit.com/app/invoice?txnId=130",
		"http://127.0.0.1:4321":                     "http://127.0.0.1:4321/app/invoices",
	} {
		if got := InvoicePage(base, "130"); got != want {
			t.Errorf("%s: %s, want %s", base, got, want)
		}
	}
}
