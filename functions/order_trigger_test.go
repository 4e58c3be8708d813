package functions

import (
	"encoding/base64"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/readyplanner/oms/internal/docevent"
	"github.com/readyplanner/oms/internal/orderflow"
)

// The order trigger decodes the Firestore event into the flow's Change:
// the states and wake counters before and after, creation and deletion.
func TestOrderTriggerDecodesChange(t *testing.T) {
	t.Parallel()
	doc := func(state string, wake int64) *docevent.Document {
		f := map[string]docevent.Value{"state": {Kind: docevent.String, Str: state}}
		if wake > 0 {
			f["work"] = docevent.Value{Kind: docevent.Map, Map: map[string]docevent.Value{"wake": {Kind: docevent.Int, Int: wake}}}
		}
		return &docevent.Document{Name: "projects/demo-oms/databases/(default)/documents/orders/K7Q2M9XH4TBA", Fields: f}
	}
	for name, tc := range map[string]struct {
		old, cur *docevent.Document
		want     orderflow.Change
	}{
		"created":    {nil, doc("pending", 0), orderflow.Change{To: "pending"}},
		"transition": {doc("invoiced", 1), doc("approved", 1), orderflow.Change{From: "invoiced", To: "approved", OldWake: 1, NewWake: 1}},
		"woken":      {doc("paid", 0), doc("paid", 1), orderflow.Change{From: "paid", To: "paid", NewWake: 1}},
		"deleted":    {doc("canceled", 2), nil, orderflow.Change{From: "canceled", OldWake: 2, Deleted: true}},
	} {
		ce := cloudevents.NewEvent()
		ce.SetID("ev-" + name)
		ce.SetType(docevent.TypeWritten)
		ce.SetSource("//firestore.googleapis.com/projects/demo-oms/databases/(default)")
		ce.SetSubject("documents/orders/K7Q2M9XH4TBA")
		if err := ce.SetData("application/protobuf", []byte(base64.StdEncoding.EncodeToString(docevent.EncodeData(tc.old, tc.cur, nil)))); err != nil {
			t.Fatal(err)
		}
		ev, err := docevent.Decode(ce)
		if err != nil {
			t.Fatal(err)
		}
		want := tc.want
		want.OrderID, want.EventID = "K7Q2M9XH4TBA", "ev-"+name
		if got := orderChange(ev); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
