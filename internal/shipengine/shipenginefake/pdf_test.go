package shipenginefake

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

// TestPDF: the label file is a well-formed PDF — every cross-reference
// offset points at its object, startxref at the table, the stream's
// Length is its length — so a viewer opens it without repairing it.
func TestPDF(t *testing.T) {
	b := PDF([]string{"USPS - Ground", "TRACKING # 9400111202600000000001", "Ann (Lee) \\ Co", "Zoë"})
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("%q", b)
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(b[xref:], []byte("xref\n0 6\n0000000000 65535 f \n")) {
		t.Fatalf("startxref %d points at %q", xref, b[xref:min(xref+20, len(b))])
	}
	entries := regexp.MustCompile(`(\d{10}) 00000 n \n`).FindAllSubmatch(b[xref:], -1)
	if len(entries) != 5 {
		t.Fatalf("%d objects", len(entries))
	}
	for i, e := range entries {
		off, _ := strconv.Atoi(string(e[1]))
		if want := fmt.Sprintf("%d 0 obj\n", i+1); !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Errorf("object %d at %d: %q", i+1, off, b[off:off+10])
		}
	}
	s := regexp.MustCompile(`(?s)<< /Length (\d+) >>\nstream\n(.*?)\nendstream`).FindSubmatch(b)
	if n, _ := strconv.Atoi(string(s[1])); n != len(s[2]) {
		t.Errorf("Length %d, stream %d bytes", n, len(s[2]))
	}
	for _, want := range []string{"(TRACKING # 9400111202600000000001) Tj", `(Ann \(Lee\) \\ Co) Tj`, "(Zo?) Tj"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %s in %s", want, s[2])
		}
	}
}
