package devhost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A services file is read back as written; one that is not oms-dev's is
// refused with what it lacks.
func TestServicesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "services.json")
	s := Services{URL: "http://127.0.0.1:5001", Project: "demo-oms", Region: "us-central1", Firestore: "127.0.0.1:8080", Auth: "127.0.0.1:9099",
		Relay: "http://127.0.0.1:6001", Vars: map[string]string{"OMS_STRIPE_API_BASE": "http://127.0.0.1:4001"}}
	if err := writeJSON(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadServices(path)
	if err != nil || got.URL != s.URL || got.Firestore != s.Firestore || got.Vars["OMS_STRIPE_API_BASE"] != "http://127.0.0.1:4001" {
		t.Errorf("read back %+v, %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file holds the fakes' keys: mode %v, %v", fi.Mode(), err)
	}
	other := filepath.Join(dir, "other.json")
	_ = os.WriteFile(other, []byte(`{"project":"demo-oms"}`), 0o600)
	if _, err := ReadServices(other); err == nil || !strings.Contains(err.Error(), "not a services file of oms-dev -services") {
		t.Errorf("a file that is not oms-dev's: %v", err)
	}
	if _, err := ReadServices(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file was read")
	}
}
