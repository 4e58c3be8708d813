package tsgen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/readyplanner/oms/internal/storefront"
	"github.com/readyplanner/oms/internal/testenv"
)

// The declarations in the repository are what the Go types generate: a
// change to a request, an answer, the order view or an error reason that
// is not regenerated fails here.
func TestDeclarationsAreCurrent(t *testing.T) {
	root, err := testenv.RepoFile("")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, Path))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s drifted from the Go types (run go run ./cmd/gen-ts); first difference at line %d:\n have %q\n want %q", Path, i+1, g, w)
			}
		}
	}
}

// Every callable, every field of the order view and every reason is in the
// declarations, so that the generator cannot silently drop one.
func TestDeclarationsCoverTheContract(t *testing.T) {
	root, _ := testenv.RepoFile("")
	b, err := Generate(root)
	if err != nil {
		t.Fatal(err)
	}
	ts := string(b)
	for _, want := range []string{"export interface Order<Time = string>", "export interface OrderDocument extends Order<FirestoreTimestamp>",
		"  discount: number;", "  shippingDiscount: number;", "  shippingChoice: ShippingChoice<Time> | null;", "  paymentStatus: PaymentStatus;",
		"  holdExpiresAt: Time | null;", "  reason: LineReason;", "export interface StartCheckoutAnswer<Time = string> extends Order<Time>"} {
		if !strings.Contains(ts, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, c := range storefront.Calls {
		if !strings.Contains(ts, "  "+c.CallName()+": {\n") {
			t.Errorf("callable %s is missing", c.CallName())
		}
		for _, e := range c.ErrorCases() {
			if !strings.Contains(ts, `"`+e.Reason+`"`) {
				t.Errorf("%s: reason %s is missing", c.CallName(), e.Reason)
			}
		}
	}
}
