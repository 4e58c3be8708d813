package docevent

import (
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

func sampleDoc() *Document {
	ts := time.Date(2026, 11, 25, 10, 0, 0, 123456000, time.UTC)
	return &Document{
		Name:       "projects/demo-oms/databases/(default)/documents/orders/o1",
		CreateTime: ts, UpdateTime: ts.Add(time.Second),
		Fields: map[string]Value{
			"state":   {Kind: String, Str: "authorized"},
			"total":   {Kind: Int, Int: -1999},
			"firm":    {Kind: Bool, Bool: true},
			"weight":  {Kind: Double, Double: 0.25},
			"at":      {Kind: Timestamp, Time: ts},
			"none":    {Kind: Null},
			"blob":    {Kind: Bytes, Bytes: []byte{0, 1, 2}},
			"ref":     {Kind: Reference, Str: "projects/demo-oms/databases/(default)/documents/skus/a"},
			"where":   {Kind: GeoPoint, Lat: 45.5, Lng: -122.6},
			"lines":   {Kind: Array, Array: []Value{{Kind: Map, Map: map[string]Value{"sku": {Kind: String, Str: "PL-A5"}}}}},
			"empty":   {Kind: Array, Array: []Value{}},
			"payment": {Kind: Map, Map: map[string]Value{"intent": {Kind: Map, Map: map[string]Value{"id": {Kind: String, Str: "pi_1"}}}}},
		},
	}
}

func TestRoundTripRawAndBase64(t *testing.T) {
	old := sampleDoc()
	old.Fields["state"] = Value{Kind: String, Str: "pending"}
	cur := sampleDoc()
	raw := EncodeData(old, cur, []string{"state"})
	for name, data := range map[string][]byte{
		"raw":    raw,
		"base64": []byte(base64.StdEncoding.EncodeToString(raw)),
	} {
		gotOld, gotNew, mask, err := DecodeData(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(gotNew, cur) || !reflect.DeepEqual(gotOld, old) {
			t.Errorf("%s: round trip differs:\n got %+v\nwant %+v", name, gotNew, cur)
		}
		if !reflect.DeepEqual(mask, []string{"state"}) {
			t.Errorf("%s: mask %v", name, mask)
		}
	}
}

func TestTypedAccess(t *testing.T) {
	d := sampleDoc()
	if s, ok := d.String("state"); !ok || s != "authorized" {
		t.Errorf("String(state) = %q, %v", s, ok)
	}
	if _, ok := d.String("total"); ok {
		t.Error("String on an int must report false")
	}
	if n, ok := d.Int("total"); !ok || n != -1999 {
		t.Errorf("Int(total) = %d, %v", n, ok)
	}
	if s, ok := d.String("payment.intent.id"); !ok || s != "pi_1" {
		t.Errorf("nested = %q, %v", s, ok)
	}
	if _, ok := d.String("payment.intent.id.more"); ok {
		t.Error("path through a string must report false")
	}
	if b, ok := d.Bool("firm"); !ok || !b {
		t.Error("Bool(firm)")
	}
	if f, ok := d.Double("weight"); !ok || f != 0.25 {
		t.Error("Double(weight)")
	}
	if tm, ok := d.Time("at"); !ok || tm.Nanosecond() != 123456000 {
		t.Errorf("Time(at) = %v, %v", tm, ok)
	}
	if got := d.ID(); got != "o1" {
		t.Errorf("ID = %q", got)
	}
	if got := d.Path(); got != "orders/o1" {
		t.Errorf("Path = %q", got)
	}
	var missing *Document
	if _, ok := missing.String("state"); ok || missing.Path() != "" || missing.Data() != nil {
		t.Error("a nil document must read as empty")
	}
	data := d.Data()
	if data["total"] != int64(-1999) || data["none"] != nil || data["lines"].([]any)[0].(map[string]any)["sku"] != "PL-A5" {
		t.Errorf("Data = %#v", data)
	}
}

func TestDecodeCloudEvent(t *testing.T) {
	ce := cloudevents.NewEvent()
	ce.SetID("e1")
	ce.SetType(TypeWritten)
	ce.SetSource("//firestore.googleapis.com/projects/demo-oms/databases/(default)")
	ce.SetSubject("documents/orders/o1")
	ce.SetExtension("document", "orders/o1")
	ce.SetExtension("database", "(default)")
	if err := ce.SetData("application/protobuf", []byte(base64.StdEncoding.EncodeToString(EncodeData(nil, sampleDoc(), nil)))); err != nil {
		t.Fatal(err)
	}
	ev, err := Decode(ce)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Old != nil || ev.New == nil || ev.Document != "orders/o1" || ev.DocumentID() != "o1" || ev.Database != "(default)" {
		t.Errorf("event = %+v", ev)
	}

	ce.SetType("google.cloud.pubsub.topic.v1.messagePublished")
	if _, err := Decode(ce); err == nil {
		t.Error("a non-Firestore event must be refused")
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":      nil,
		"spaces":     []byte("   "),
		"truncated":  EncodeData(nil, sampleDoc(), nil)[:20],
		"no values":  {0x1a, 0x00},
		"bad base64": []byte("!!!!"),
	} {
		if _, _, _, err := DecodeData(data); err == nil {
			t.Errorf("%s: DecodeData accepted it", name)
		}
	}
}

func FuzzDecodeData(f *testing.F) {
	f.Add(EncodeData(nil, sampleDoc(), nil))
	f.Add([]byte(base64.StdEncoding.EncodeToString(EncodeData(sampleDoc(), sampleDoc(), []string{"a"}))))
	f.Add([]byte{0x0a, 0x02, 0x0a, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		old, cur, _, err := DecodeData(data)
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same documents.
		o2, c2, _, err := DecodeData(EncodeData(old, cur, nil))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if (old == nil) != (o2 == nil) || (cur == nil) != (c2 == nil) {
			t.Fatalf("presence changed")
		}
	})
}
