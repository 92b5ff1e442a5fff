package coalesce

import (
	"reflect"
	"testing"
)

// TestStatsAdd: Stats.Add adds every counter (each field filled
// here by reflection, so a counter added later is checked too).
func TestStatsAdd(t *testing.T) {
	var a, b Stats
	n := int64(1)
	var fill func(v reflect.Value, k int64)
	fill = func(v reflect.Value, k int64) {
		switch v.Kind() {
		case reflect.Int64:
			v.SetInt(n * k)
			n++
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i), k)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i), k)
			}
		default:
			t.Fatalf("a field of kind %v: teach the test", v.Kind())
		}
	}
	fill(reflect.ValueOf(&a).Elem(), 1)
	n = 1
	fill(reflect.ValueOf(&b).Elem(), 1000)
	a.Add(&b)
	n = 1
	var want Stats
	fill(reflect.ValueOf(&want).Elem(), 1001)
	if a != want {
		t.Errorf("Add:\n%+v\nwant\n%+v", a, want)
	}
}
