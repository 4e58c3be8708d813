package bookkeeping

import (
	"strings"
	"testing"
	"time"
)

func TestStates(t *testing.T) {
	s := NewStates("client-secret")
	now := time.Unix(1_800_000_000, 0)
	state := s.Sign("n0nce-0123456789abcdef", now.Add(StateTTL))
	nonce, exp, err := s.Verify(state, now)
	if err != nil || nonce != "n0nce-0123456789abcdef" || !exp.Equal(now.Add(StateTTL)) {
		t.Fatalf("verify: %q %v %v", nonce, exp, err)
	}
	if _, _, err := s.Verify(state, now.Add(StateTTL)); err != ErrStateExpired {
		t.Errorf("at expiry: %v", err)
	}
	if _, _, err := NewStates("another secret").Verify(state, now); err != ErrStateInvalid {
		t.Errorf("another key: %v", err)
	}
	parts := strings.Split(state, ".")
	for name, bad := range map[string]string{
		"empty":            "",
		"longer expiry":    strings.Join([]string{parts[0], parts[1], "1900000000", parts[3]}, "."),
		"other nonce":      strings.Join([]string{parts[0], "n0nce-0123456789abcdeX", parts[2], parts[3]}, "."),
		"no mac":           strings.Join(parts[:3], "."),
		"other version":    "v2." + strings.Join(parts[1:], "."),
		"short nonce":      s.Sign("short", now.Add(time.Minute)),
		"not a number":     strings.Join([]string{parts[0], parts[1], "soon", s.mac(parts[0] + "." + parts[1] + ".soon")}, "."),
		"extra dot":        state + ".x",
		"mac of other key": strings.Join(parts[:3], ".") + "." + NewStates("x").mac(strings.Join(parts[:3], ".")),
	} {
		if _, _, err := s.Verify(bad, now); err != ErrStateInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A one-time connect key is usable only before it expires.
func TestConnectKeyLive(t *testing.T) {
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		expires time.Time
		want    bool
	}{{at.Add(time.Second), true}, {at, false}, {at.Add(-time.Minute), false}, {time.Time{}, false}} {
		if got := ConnectKeyLive(c.expires, at); got != c.want {
			t.Errorf("a key expiring %s at %s: live %v, want %v", c.expires, at, got, c.want)
		}
	}
}
