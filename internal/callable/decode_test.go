package callable

import (
	"encoding/json"
	"testing"

	"github.com/readyplanner/oms/internal/apperr"
)

// A wrapped 64-bit integer that is not one is wrong_type naming its field
// by its whole path, wherever it is (issue 20: 14 answers named none).
func TestWrappedLongsNameTheirField(t *testing.T) {
	type item struct {
		N int64 `json:"n"`
	}
	type req struct {
		ID    string `json:"id"`
		Items []item `json:"items"`
		Max   uint64 `json:"max"`
	}
	for _, c := range []struct{ data, field string }{
		{`{"id": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "K7Q2"}}`, "id"},
		{`{"id": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": 12}}`, "id"},
		{`{"items": [{"n": 1}, {"n": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "9223372036854775808"}}]}`, "items[1].n"},
		{`{"max": {"@type": "type.googleapis.com/google.protobuf.UInt64Value", "value": "-1"}}`, "max"},
		{`{"id": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "12"}}`, "id"}, // a number where a string goes
	} {
		var r req
		e := apperr.As(decodeData(json.RawMessage(c.data), &r))
		if e == nil || e.Reason != "wrong_type" || e.Field != c.field {
			t.Errorf("%s: %+v, want wrong_type on %s", c.data, e, c.field)
		}
	}
	var r req
	if err := decodeData(json.RawMessage(`{"items": [{"n": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": " -9223372036854775808 "}}]}`), &r); err != nil || r.Items[0].N != -1<<63 {
		t.Errorf("a wrapped minimum: %v %+v", err, r)
	}
}
