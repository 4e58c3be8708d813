package docevent

import (
	"fmt"
	"math"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of google.events.cloud.firestore.v1.DocumentEventData and the
// messages it holds (reference/firebase.md): they are the contract.
const (
	fEventValue      = 1
	fEventOldValue   = 2
	fEventUpdateMask = 3
	fMaskFieldPaths  = 1

	fDocName       = 1
	fDocFields     = 2
	fDocCreateTime = 3
	fDocUpdateTime = 4

	fMapEntryKey   = 1
	fMapEntryValue = 2

	fValBool      = 1
	fValInt       = 2
	fValDouble    = 3
	fValReference = 5
	fValMap       = 6
	fValGeoPoint  = 8
	fValArray     = 9
	fValTimestamp = 10
	fValNull      = 11
	fValString    = 17
	fValBytes     = 18

	fMapValueFields   = 1
	fArrayValueValues = 1
	fLatLngLat        = 1
	fLatLngLng        = 2
	fTSSeconds        = 1
	fTSNanos          = 2
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack;
// Firestore itself allows 20 levels of maps and arrays.
const maxDepth = 64

// field walks the fields of one message, calling fn with each field's number,
// wire type and raw value (for varints and fixed types, v holds the number;
// for bytes, b holds the payload).
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, payload []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed(n)
		}
		b = b[n:]
		var (
			v       uint64
			payload []byte
		)
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.BytesType:
			payload, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("field %d: %w", num, malformed(n))
		}
		b = b[n:]
		if err := fn(num, typ, v, payload); err != nil {
			return err
		}
	}
	return nil
}

// malformed is the error of bytes that are not protobuf (n is protowire's
// negative length): said so, since protowire's own words ("unexpected
// EOF") do not say what was being read.
func malformed(n int) error {
	return fmt.Errorf("malformed protobuf (%v)", protowire.ParseError(n))
}

func wantType(num protowire.Number, got, want protowire.Type) error {
	if got != want {
		return fmt.Errorf("field %d: wire type %d, want %d", num, got, want)
	}
	return nil
}

func decodeEventData(b []byte) (old, cur *Document, mask []string, err error) {
	err = fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
		switch num {
		case fEventValue, fEventOldValue:
			if err := wantType(num, typ, protowire.BytesType); err != nil {
				return err
			}
			d, err := decodeDocument(p)
			if err != nil {
				which := "value"
				if num == fEventOldValue {
					which = "old_value"
				}
				return fmt.Errorf("%s: %w", which, err)
			}
			if num == fEventValue {
				cur = d
			} else {
				old = d
			}
		case fEventUpdateMask:
			if err := wantType(num, typ, protowire.BytesType); err != nil {
				return err
			}
			return fields(p, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
				if num == fMaskFieldPaths && typ == protowire.BytesType {
					mask = append(mask, string(p))
				}
				return nil
			})
		}
		return nil // unknown fields are skipped, as protobuf requires
	})
	return old, cur, mask, err
}

func decodeDocument(b []byte) (*Document, error) {
	d := &Document{Fields: map[string]Value{}}
	err := fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		var err error
		switch num {
		case fDocName:
			d.Name = string(p)
		case fDocFields:
			var k string
			var v Value
			k, v, err = decodeMapEntry(p, 0)
			if err != nil {
				return fmt.Errorf("fields[%q]: %w", k, err)
			}
			d.Fields[k] = v
		case fDocCreateTime:
			if d.CreateTime, err = decodeTimestamp(p); err != nil {
				return fmt.Errorf("create_time: %w", err)
			}
		case fDocUpdateTime:
			if d.UpdateTime, err = decodeTimestamp(p); err != nil {
				return fmt.Errorf("update_time: %w", err)
			}
		}
		return nil
	})
	return d, err
}

func decodeMapEntry(b []byte, depth int) (string, Value, error) {
	var (
		key string
		val Value
	)
	err := fields(b, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case fMapEntryKey:
			key = string(p)
		case fMapEntryValue:
			var err error
			val, err = decodeValue(p, depth+1)
			return err
		}
		return nil
	})
	return key, val, err
}

func decodeTimestamp(b []byte) (time.Time, error) {
	var secs, nanos int64
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, _ []byte) error {
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case fTSSeconds:
			secs = int64(v)
		case fTSNanos:
			nanos = int64(int32(v))
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if nanos < 0 || nanos > 999_999_999 {
		return time.Time{}, fmt.Errorf("timestamp nanos %d out of range", nanos)
	}
	return time.Unix(secs, nanos).UTC(), nil
}

func decodeValue(b []byte, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, fmt.Errorf("values nested deeper than %d", maxDepth)
	}
	var v Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, n uint64, p []byte) error {
		var err error
		switch num {
		case fValBool:
			v = Value{Kind: Bool, Bool: n != 0}
			err = wantType(num, typ, protowire.VarintType)
		case fValInt:
			v = Value{Kind: Int, Int: int64(n)}
			err = wantType(num, typ, protowire.VarintType)
		case fValDouble:
			v = Value{Kind: Double, Double: math.Float64frombits(n)}
			err = wantType(num, typ, protowire.Fixed64Type)
		case fValNull:
			v = Value{Kind: Null}
			err = wantType(num, typ, protowire.VarintType)
		case fValReference, fValString:
			k := String
			if num == fValReference {
				k = Reference
			}
			v = Value{Kind: k, Str: string(p)}
			err = wantType(num, typ, protowire.BytesType)
		case fValBytes:
			v = Value{Kind: Bytes, Bytes: append([]byte{}, p...)}
			err = wantType(num, typ, protowire.BytesType)
		case fValTimestamp:
			if err = wantType(num, typ, protowire.BytesType); err == nil {
				v = Value{Kind: Timestamp}
				v.Time, err = decodeTimestamp(p)
			}
		case fValGeoPoint:
			if err = wantType(num, typ, protowire.BytesType); err == nil {
				v = Value{Kind: GeoPoint}
				err = fields(p, func(num protowire.Number, typ protowire.Type, n uint64, _ []byte) error {
					if typ == protowire.Fixed64Type && num == fLatLngLat {
						v.Lat = math.Float64frombits(n)
					} else if typ == protowire.Fixed64Type && num == fLatLngLng {
						v.Lng = math.Float64frombits(n)
					}
					return nil
				})
			}
		case fValMap:
			if err = wantType(num, typ, protowire.BytesType); err == nil {
				v = Value{Kind: Map, Map: map[string]Value{}}
				err = fields(p, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
					if num != fMapValueFields || typ != protowire.BytesType {
						return nil
					}
					k, e, err := decodeMapEntry(p, depth)
					if err != nil {
						return fmt.Errorf("[%q]: %w", k, err)
					}
					v.Map[k] = e
					return nil
				})
			}
		case fValArray:
			if err = wantType(num, typ, protowire.BytesType); err == nil {
				v = Value{Kind: Array, Array: []Value{}}
				err = fields(p, func(num protowire.Number, typ protowire.Type, _ uint64, p []byte) error {
					if num != fArrayValueValues || typ != protowire.BytesType {
						return nil
					}
					e, err := decodeValue(p, depth+1)
					if err != nil {
						return fmt.Errorf("[%d]: %w", len(v.Array), err)
					}
					v.Array = append(v.Array, e)
					return nil
				})
			}
		}
		return err
	})
	return v, err
}

// EncodeData encodes a DocumentEventData message: the raw bytes production
// sends. Tests use it to construct trigger events; map keys are written in
// sorted order so that the encoding is deterministic.
func EncodeData(old, cur *Document, mask []string) []byte {
	var b []byte
	if cur != nil {
		b = protowire.AppendTag(b, fEventValue, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeDocument(cur))
	}
	if old != nil {
		b = protowire.AppendTag(b, fEventOldValue, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeDocument(old))
	}
	if len(mask) > 0 {
		var m []byte
		for _, p := range mask {
			m = protowire.AppendTag(m, fMaskFieldPaths, protowire.BytesType)
			m = protowire.AppendString(m, p)
		}
		b = protowire.AppendTag(b, fEventUpdateMask, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

func encodeDocument(d *Document) []byte {
	var b []byte
	b = protowire.AppendTag(b, fDocName, protowire.BytesType)
	b = protowire.AppendString(b, d.Name)
	b = appendEntries(b, fDocFields, d.Fields)
	if !d.CreateTime.IsZero() {
		b = protowire.AppendTag(b, fDocCreateTime, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeTimestamp(d.CreateTime))
	}
	if !d.UpdateTime.IsZero() {
		b = protowire.AppendTag(b, fDocUpdateTime, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeTimestamp(d.UpdateTime))
	}
	return b
}

func appendEntries(b []byte, num protowire.Number, m map[string]Value) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = protowire.AppendTag(e, fMapEntryKey, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, fMapEntryValue, protowire.BytesType)
		e = protowire.AppendBytes(e, encodeValue(m[k]))
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendBytes(b, e)
	}
	return b
}

func encodeTimestamp(t time.Time) []byte {
	var b []byte
	b = protowire.AppendTag(b, fTSSeconds, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.Unix()))
	if ns := t.Nanosecond(); ns != 0 {
		b = protowire.AppendTag(b, fTSNanos, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(ns))
	}
	return b
}

func encodeValue(v Value) []byte {
	var b []byte
	switch v.Kind {
	case Null:
		b = protowire.AppendTag(b, fValNull, protowire.VarintType)
		b = protowire.AppendVarint(b, 0)
	case Bool:
		b = protowire.AppendTag(b, fValBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.Bool))
	case Int:
		b = protowire.AppendTag(b, fValInt, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.Int))
	case Double:
		b = protowire.AppendTag(b, fValDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.Double))
	case Timestamp:
		b = protowire.AppendTag(b, fValTimestamp, protowire.BytesType)
		b = protowire.AppendBytes(b, encodeTimestamp(v.Time))
	case String:
		b = protowire.AppendTag(b, fValString, protowire.BytesType)
		b = protowire.AppendString(b, v.Str)
	case Reference:
		b = protowire.AppendTag(b, fValReference, protowire.BytesType)
		b = protowire.AppendString(b, v.Str)
	case Bytes:
		b = protowire.AppendTag(b, fValBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v.Bytes)
	case GeoPoint:
		var g []byte
		g = protowire.AppendTag(g, fLatLngLat, protowire.Fixed64Type)
		g = protowire.AppendFixed64(g, math.Float64bits(v.Lat))
		g = protowire.AppendTag(g, fLatLngLng, protowire.Fixed64Type)
		g = protowire.AppendFixed64(g, math.Float64bits(v.Lng))
		b = protowire.AppendTag(b, fValGeoPoint, protowire.BytesType)
		b = protowire.AppendBytes(b, g)
	case Map:
		b = protowire.AppendTag(b, fValMap, protowire.BytesType)
		b = protowire.AppendBytes(b, appendEntries(nil, fMapValueFields, v.Map))
	case Array:
		var a []byte
		for _, e := range v.Array {
			a = protowire.AppendTag(a, fArrayValueValues, protowire.BytesType)
			a = protowire.AppendBytes(a, encodeValue(e))
		}
		b = protowire.AppendTag(b, fValArray, protowire.BytesType)
		b = protowire.AppendBytes(b, a)
	}
	return b
}
