package money

import (
	"reflect"
	"testing"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{2, []int64{1, 1, 1}, []int64{1, 1, 0}},
		{0, []int64{5, 5}, []int64{0, 0}},
		{10, []int64{0, 0}, []int64{0, 0}},
		{7, []int64{7, 0}, []int64{7, 0}},
		{1000, []int64{3800, 3600, 1950}, []int64{406, 385, 209}},
	}
	for _, tt := range tests {
		if got := Allocate(tt.total, tt.weights); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Allocate(%d, %v) = %v, want %v", tt.total, tt.weights, got, tt.want)
		}
	}
}
