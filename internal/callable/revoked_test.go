package callable

import (
	"io"
	"testing"
)

// A callable served with CheckRevoked asks the verifier about revocation;
// one without it does not (issue 20: the owner's callables).
func TestCheckRevoked(t *testing.T) {
	s := newServer(io.Discard)
	s.Tokens = fakeTokens{"alice-token": {UID: "alice"}, "revoked-alice": {UID: "alice"}}
	revoked := map[string]string{"Authorization": "Bearer revoked-alice"}
	if a := do(t, Handle(s, "greet", greet), "POST", `{"data":{"name":"Ann"}}`, revoked); a.status != 200 {
		t.Errorf("without CheckRevoked: %d %s", a.status, a.raw)
	}
	h := Handle(s, "greet", greet, CheckRevoked())
	if a := do(t, h, "POST", `{"data":{"name":"Ann"}}`, revoked); a.status != 401 || errStatus(a) != "UNAUTHENTICATED" {
		t.Errorf("with CheckRevoked, a revoked token: %d %s", a.status, a.raw)
	}
	if a := do(t, h, "POST", `{"data":{"name":"Ann"}}`, auth); a.status != 200 {
		t.Errorf("with CheckRevoked, a good token: %d %s", a.status, a.raw)
	}
}
