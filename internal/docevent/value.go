package docevent

import (
	"strings"
	"time"
)

// Kind says which field of a Value is set, following google.firestore.v1.Value.
type Kind int

// The kinds of Firestore values.
const (
	Null Kind = iota
	Bool
	Int
	Double
	Timestamp
	String
	Bytes
	Reference
	GeoPoint
	Array
	Map
)

var kindNames = [...]string{"null", "bool", "int", "double", "timestamp", "string", "bytes", "reference", "geopoint", "array", "map"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Value is one Firestore value. Kind says which field holds it; the others
// are zero.
type Value struct {
	Kind   Kind
	Bool   bool
	Int    int64
	Double float64
	Time   time.Time // Timestamp, in UTC
	Str    string    // String and Reference (a full resource name)
	Bytes  []byte
	Lat    float64 // GeoPoint
	Lng    float64 // GeoPoint
	Array  []Value
	Map    map[string]Value
}

// Interface converts v to the plain Go value the Firestore Go client would
// give for it: nil, bool, int64, float64, time.Time, string, []byte,
// []any, map[string]any; a GeoPoint becomes [2]float64{lat, lng}.
func (v Value) Interface() any {
	switch v.Kind {
	case Bool:
		return v.Bool
	case Int:
		return v.Int
	case Double:
		return v.Double
	case Timestamp:
		return v.Time
	case String, Reference:
		return v.Str
	case Bytes:
		return v.Bytes
	case GeoPoint:
		return [2]float64{v.Lat, v.Lng}
	case Array:
		out := make([]any, len(v.Array))
		for i, e := range v.Array {
			out[i] = e.Interface()
		}
		return out
	case Map:
		out := make(map[string]any, len(v.Map))
		for k, e := range v.Map {
			out[k] = e.Interface()
		}
		return out
	}
	return nil
}

// Document is a Firestore document as a trigger sees it.
type Document struct {
	Name       string // full resource name: projects/p/databases/(default)/documents/orders/o1
	Fields     map[string]Value
	CreateTime time.Time
	UpdateTime time.Time
}

// Path returns the document's path relative to the database root
// ("orders/o1"), or "" for a nil document.
func (d *Document) Path() string {
	if d == nil {
		return ""
	}
	if _, rest, ok := strings.Cut(d.Name, "/documents/"); ok {
		return rest
	}
	return d.Name
}

// ID returns the last segment of the document's path.
func (d *Document) ID() string {
	p := d.Path()
	return p[strings.LastIndex(p, "/")+1:]
}

// Get returns the value at a dotted field path ("customer.email"). Missing
// documents and fields report false.
func (d *Document) Get(path string) (Value, bool) {
	if d == nil {
		return Value{}, false
	}
	fields := d.Fields
	parts := strings.Split(path, ".")
	for i, p := range parts {
		v, ok := fields[p]
		if !ok {
			return Value{}, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		if v.Kind != Map {
			return Value{}, false
		}
		fields = v.Map
	}
	return Value{}, false
}

// String returns the string at path; false if absent or not a string.
func (d *Document) String(path string) (string, bool) {
	v, ok := d.Get(path)
	return v.Str, ok && v.Kind == String
}

// Int returns the integer at path; false if absent or not an integer.
func (d *Document) Int(path string) (int64, bool) {
	v, ok := d.Get(path)
	return v.Int, ok && v.Kind == Int
}

// Bool returns the boolean at path; false if absent or not a boolean.
func (d *Document) Bool(path string) (bool, bool) {
	v, ok := d.Get(path)
	return v.Bool, ok && v.Kind == Bool
}

// Double returns the double at path; false if absent or not a double.
func (d *Document) Double(path string) (float64, bool) {
	v, ok := d.Get(path)
	return v.Double, ok && v.Kind == Double
}

// Time returns the timestamp at path; false if absent or not a timestamp.
func (d *Document) Time(path string) (time.Time, bool) {
	v, ok := d.Get(path)
	return v.Time, ok && v.Kind == Timestamp
}

// Data returns all fields as plain Go values (see Value.Interface).
func (d *Document) Data() map[string]any {
	if d == nil {
		return nil
	}
	return Value{Kind: Map, Map: d.Fields}.Interface().(map[string]any)
}
