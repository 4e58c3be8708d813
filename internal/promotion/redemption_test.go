package promotion

import (
	"reflect"
	"testing"
)

func rec(id, mailbox string) Redemption { return Redemption{PromotionID: id, MailboxKey: mailbox} }

func TestCountersUsage(t *testing.T) {
	c := Counters{{"a", ""}: 5, {"a", "ann"}: 2, {"a", "bob"}: 1, {"b", ""}: 1}
	tests := []struct {
		name    string
		ids     []string
		mailbox string
		own     []Redemption
		want    map[string]Usage
	}{
		{"nothing held", []string{"a", "b", "c"}, "ann", nil,
			map[string]Usage{"a": {5, 2}, "b": {1, 0}, "c": {0, 0}}},
		{"own record not counted", []string{"a"}, "ann", []Redemption{rec("a", "ann")},
			map[string]Usage{"a": {4, 1}}},
		{"own record of another mailbox: total only", []string{"a"}, "ann", []Redemption{rec("a", "bob")},
			map[string]Usage{"a": {4, 2}}},
		{"own record of a promotion not asked", []string{"b"}, "ann", []Redemption{rec("a", "ann")},
			map[string]Usage{"b": {1, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Usage(tt.ids, tt.mailbox, tt.own); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRedemptionDecisions(t *testing.T) {
	loaded := Counters{{"a", ""}: 3, {"a", "ann"}: 1, {"a", "bob"}: 1, {"b", ""}: 0, {"b", "ann"}: 0}
	tests := []struct {
		name      string
		decide    func() (RedemptionChange, []string)
		want      RedemptionChange
		wantKept  []string
		wantEmpty bool
	}{
		{
			name: "commit: a new promotion is redeemed for the mailbox",
			decide: func() (RedemptionChange, []string) {
				return Commit(loaded, nil, []string{"a", "b"}, "ann"), nil
			},
			want: RedemptionChange{Redeem: []Redemption{rec("a", "ann"), rec("b", "ann")},
				Counters: Counters{{"a", ""}: 4, {"a", "ann"}: 2, {"b", ""}: 1, {"b", "ann"}: 1}},
		},
		{
			name: "commit again: what is held is kept, nothing more",
			decide: func() (RedemptionChange, []string) {
				return Commit(loaded, []Redemption{rec("a", "ann")}, []string{"a"}, "ann"), nil
			},
			want:      RedemptionChange{},
			wantEmpty: true,
		},
		{
			name: "commit after the code changed: the old one is given back, the new one redeemed",
			decide: func() (RedemptionChange, []string) {
				return Commit(loaded, []Redemption{rec("a", "ann")}, []string{"b"}, "ann"), nil
			},
			want: RedemptionChange{Release: []Redemption{rec("a", "ann")}, Redeem: []Redemption{rec("b", "ann")},
				Counters: Counters{{"a", ""}: 2, {"a", "ann"}: 0, {"b", ""}: 1, {"b", "ann"}: 1}},
		},
		{
			name: "commit after the email changed: the record moves to the new mailbox",
			decide: func() (RedemptionChange, []string) {
				return Commit(loaded, []Redemption{rec("a", "bob")}, []string{"a"}, "ann"), nil
			},
			want: RedemptionChange{Release: []Redemption{rec("a", "bob")}, Redeem: []Redemption{rec("a", "ann")},
				Counters: Counters{{"a", ""}: 3, {"a", "bob"}: 0, {"a", "ann"}: 2}},
		},
		{
			name: "commit: a promotion applied twice is redeemed once",
			decide: func() (RedemptionChange, []string) {
				return Commit(loaded, nil, []string{"b", "b"}, "ann"), nil
			},
			want: RedemptionChange{Redeem: []Redemption{rec("b", "ann")}, Counters: Counters{{"b", ""}: 1, {"b", "ann"}: 1}},
		},
		{
			name: "follow: a dropped code is given back, a kept one stays",
			decide: func() (RedemptionChange, []string) {
				return Follow(loaded, []Redemption{rec("a", "ann"), rec("b", "ann")}, []string{"a"}, "ann")
			},
			want:     RedemptionChange{Release: []Redemption{rec("b", "ann")}, Counters: Counters{{"b", ""}: 0, {"b", "ann"}: 0}},
			wantKept: []string{"a"},
		},
		{
			name: "follow: never redeems, even what the order newly applies",
			decide: func() (RedemptionChange, []string) {
				return Follow(loaded, nil, []string{"a"}, "ann")
			},
			want:      RedemptionChange{},
			wantKept:  []string{},
			wantEmpty: true,
		},
		{
			name: "follow: without a customer nothing is kept",
			decide: func() (RedemptionChange, []string) {
				return Follow(loaded, []Redemption{rec("a", "ann")}, []string{"a"}, "")
			},
			want:     RedemptionChange{Release: []Redemption{rec("a", "ann")}, Counters: Counters{{"a", ""}: 2, {"a", "ann"}: 0}},
			wantKept: []string{},
		},
		{
			name: "release all: every live record, whatever the pricing",
			decide: func() (RedemptionChange, []string) {
				return ReleaseAll(loaded, []Redemption{rec("a", "ann"), rec("a", "bob")}), nil
			},
			want: RedemptionChange{Release: []Redemption{rec("a", "ann"), rec("a", "bob")},
				Counters: Counters{{"a", ""}: 1, {"a", "ann"}: 0, {"a", "bob"}: 0}},
		},
		{
			name: "release: a counter never goes below zero",
			decide: func() (RedemptionChange, []string) {
				return ReleaseAll(loaded, []Redemption{rec("b", "ann")}), nil
			},
			want: RedemptionChange{Release: []Redemption{rec("b", "ann")}, Counters: Counters{{"b", ""}: 0, {"b", "ann"}: 0}},
		},
		{
			name: "release with nothing live writes nothing",
			decide: func() (RedemptionChange, []string) {
				return ReleaseAll(loaded, nil), nil
			},
			want:      RedemptionChange{},
			wantEmpty: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, kept := tt.decide()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if tt.wantKept != nil && !reflect.DeepEqual(kept, tt.wantKept) {
				t.Errorf("kept %v, want %v", kept, tt.wantKept)
			}
			if got.Empty() != tt.wantEmpty {
				t.Errorf("Empty() = %v, want %v", got.Empty(), tt.wantEmpty)
			}
		})
	}
}

func TestCountersKeysSorted(t *testing.T) {
	c := Counters{{"b", ""}: 1, {"a", "z"}: 1, {"a", ""}: 1}
	want := []CounterKey{{"a", ""}, {"a", "z"}, {"b", ""}}
	if got := c.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
