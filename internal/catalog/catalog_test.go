package catalog

import (
	"strings"
	"testing"
)

func TestValidSKU(t *testing.T) {
	for id, want := range map[string]bool{
		"PLN-2027-A5": true, "PLN_2027.A5-x": true, "a": true, "9": true, strings.Repeat("S", 64): true,
		"": false, ".": false, "..": false, "__x__": false, "__name__": false, "_a": false, "-a": false, ".a": false,
		"a/b": false, "a b": false, "é": false, strings.Repeat("S", 65): false,
	} {
		if got := ValidSKU(id); got != want {
			t.Errorf("ValidSKU(%q) = %v, want %v", id, got, want)
		}
	}
}
