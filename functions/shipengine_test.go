package functions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/readyplanner/oms/internal/alert"
	"github.com/readyplanner/oms/internal/firestoredb"
	"github.com/readyplanner/oms/internal/order"
	"github.com/readyplanner/oms/internal/shipengine"
	"github.com/readyplanner/oms/internal/testenv"
	webhookev "github.com/readyplanner/oms/internal/webhook"
)

// trackEvents returns the recorded track events of a tracking number.
func trackEvents(t *testing.T, n string) []webhookev.Event {
	t.Helper()
	a := testApp(t)
	snaps, err := a.Firestore.Collection(firestoredb.WebhookEventsPath(webhookev.ShipEngine)).Where("trackingNumber", "==", n).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []webhookev.Event
	for _, s := range snaps {
		out = append(out, webhookev.Event{ID: s.Data()["eventId"].(string), ShipEngine: &webhookev.TrackEvent{TrackingNumber: n, StatusCode: s.Data()["status"].(string)}})
	}
	return out
}

// shipengineWebhook refuses what ShipEngine did not sign (missing
// headers 404, a stale timestamp 400, another key or a changed body 401)
// and records what it did once; the delivery's body is not believed (the
// label's tracking is re-read); the local ShipEngine's own signed
// deliveries move the parcel; a lost webhook costs a sweep.
func TestShipEngineWebhook(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	s := newStore(t, a, 10, 10)
	_, o := fulfilling(t, a, s, "B", 1)
	boss := owner(t)
	bought := buyLabelAs(t, a, boss.IDToken, o.ID, "")
	if bought.status != 200 {
		t.Fatal(bought.Error)
	}
	l := bought.Result.Label
	srv := httptest.NewServer(shipengineWebhook(a))
	defer srv.Close()
	// A delivery that says "delivered" while the carrier has not even
	// scanned the parcel, signed as ShipEngine signs.
	body := []byte(`{"resource_url":"https://api.shipengine.com/v1/tracking?carrier_code=usps&tracking_number=` + l.TrackingNumber +
		`","resource_type":"API_TRACK","data":{"tracking_number":"` + l.TrackingNumber + `","status_code":"DE","status_description":"Delivered","carrier_status_code":"01","events":[]}}`)
	fake := shipEngine(t)
	key := fakeKey(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	post := func(b []byte, h map[string]string) int {
		req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(b))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := func(k *rsa.PrivateKey, kid string, at time.Time, b []byte) map[string]string {
		id, sig, ts, err := shipengine.Sign(k, kid, at, b)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{shipengine.KeyIDHeader: id, shipengine.SignatureHeader: sig, shipengine.TimestampHeader: ts}
	}
	now := time.Now()
	for name, c := range map[string]struct {
		body []byte
		h    map[string]string
		want int
	}{
		"no headers":          {body, nil, 404},
		"stale":               {body, signed(key.key, key.kid, now.Add(-6*time.Minute), body), 400},
		"from the future":     {body, signed(key.key, key.kid, now.Add(6*time.Minute), body), 400},
		"another key":         {body, signed(other, key.kid, now, body), 401},
		"an unknown key id":   {body, signed(other, "someone-else", now, body), 401},
		"a changed body":      {bytes.Replace(body, []byte(`"DE"`), []byte(`"EX"`), 1), signed(key.key, key.kid, now, body), 401},
		"signed":              {body, signed(key.key, key.kid, now, body), 200},
		"signed, again":       {body, signed(key.key, key.kid, now.Add(time.Second), body), 200},
		"a little clock skew": {body, signed(key.key, key.kid, now.Add(2*time.Minute), body), 200},
	} {
		if got := post(c.body, c.h); got != c.want {
			t.Errorf("%s: %d, want %d", name, got, c.want)
		}
	}
	evs := trackEvents(t, l.TrackingNumber)
	if len(evs) != 1 {
		t.Fatalf("%d events recorded, want 1", len(evs))
	}
	// The body said delivered; ShipEngine says not yet in system.
	if out, err := a.Parts.HandleTrackEvent(ctx, evs[0]); err != nil || !strings.Contains(out, "labelled") {
		t.Errorf("an event tracking does not confirm: %q %v", out, err)
	}
	if cur, _ := a.Orders.Get(ctx, o.ID); cur.Part(order.PartParcel).Status != order.PartLabelled {
		t.Fatal("the body was believed")
	}

	// The local ShipEngine's own deliveries: the first scan ships it.
	fake.SetWebhook(srv.URL)
	if err := fake.Track(l.LabelID, "accepted"); err != nil {
		t.Fatal(err)
	}
	testenv.Poll(t, 10*time.Second, "the AC delivery", func() bool {
		for _, e := range trackEvents(t, l.TrackingNumber) {
			if e.ShipEngine.StatusCode == "AC" {
				_, err := a.Parts.HandleTrackEvent(ctx, e)
				return err == nil
			}
		}
		return false
	})
	fake.SetWebhook("")
	cur := settle(t, a, o.ID)
	if p := cur.Part(order.PartParcel); p.Status != order.PartInTransit || p.TrackingNumber != l.TrackingNumber || cur.State() != order.Shipped {
		t.Errorf("after the first scan: %s, %+v", cur.State(), p)
	}
	// An exception, then the delivery, whose webhooks are lost: the
	// sweeper's re-read finds each; the owner hears of the exception once.
	for _, m := range []string{"exception", "delivered"} {
		if err := fake.Track(l.LabelID, m); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if _, err := a.Parts.Tasks(a.Config.RedriveAfter)["rereadTracking"](ctx, time.Now().Add(a.Config.RedriveAfter+time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if m == "exception" {
			cur, _ = a.Orders.Get(ctx, o.ID)
			snaps, _ := a.Firestore.Collection("alerts").Where("orderId", "==", o.ID).Where("kind", "==", alert.ParcelException).Documents(ctx).GetAll()
			if p := cur.Part(order.PartParcel); p.Status != order.PartException || len(snaps) != 1 || !strings.Contains(p.TrackingNote, "damaged") {
				t.Errorf("after the exception: %+v, %d alerts", p, len(snaps))
			}
		}
	}
	cur = settle(t, a, o.ID)
	if p := cur.Part(order.PartParcel); p.Status != order.PartDelivered || p.DeliveredAt.IsZero() || cur.WorkDue() {
		t.Errorf("after the delivery: %+v", p)
	}
	snaps, _ := a.Firestore.Collection("mail").Where("orderId", "==", o.ID).Where("purpose", "==", "delivered").Documents(ctx).GetAll()
	if len(snaps) != 1 {
		t.Errorf("%d delivered emails, want 1", len(snaps))
	}
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// fakeKey is the local ShipEngine's webhook signing key.
func fakeKey(t *testing.T) signingKey {
	t.Helper()
	kid, key := shipEngine(t).SigningKey()
	return signingKey{kid: kid, key: key}
}
