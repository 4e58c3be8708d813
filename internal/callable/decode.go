package callable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/readyplanner/oms/internal/apperr"
	"github.com/readyplanner/oms/internal/httpedge"
)

// Protobuf wrapper types some Firebase SDKs use for 64-bit integers.
const (
	int64Type  = "type.googleapis.com/google.protobuf.Int64Value"
	uint64Type = "type.googleapis.com/google.protobuf.UInt64Value"
)

// decodeData decodes the request's data into v strictly: unknown fields and
// wrong types are INVALID_ARGUMENT naming the field. Int64Value and
// UInt64Value wrappers are unwrapped first (and must hold an integer of
// their kind). JSON null leaves v at its zero value only for handlers that
// take no arguments (an empty struct); any other handler needs an object.
func decodeData(data json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return apperr.New(apperr.Invalid, "data is not valid JSON").Because(httpedge.ReasonBadRequest)
	}
	if tree == nil {
		if t := reflect.TypeOf(v).Elem(); t.Kind() == reflect.Struct && t.NumField() == 0 {
			return nil
		}
		return apperr.New(apperr.Invalid, "data must be an object with this function's fields, not null").Because(httpedge.ReasonWrongType)
	}
	tree, err := unwrapLongs(tree, "")
	if err != nil {
		return err
	}
	if path := unknownField(tree, reflect.TypeOf(v).Elem(), ""); path != "" {
		return apperr.New(apperr.Invalid, "data has an unknown field %q", path).Because(httpedge.ReasonUnknownField).On(path)
	}
	b, err := json.Marshal(tree)
	if err != nil {
		return fmt.Errorf("re-encode data: %w", err)
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return describe(err)
	}
	return nil
}

// unwrapLongs replaces every Int64Value and UInt64Value wrapper in v by
// the number it carries; one that carries none is wrong_type naming its
// field (path is v's, dotted, lists as [i]), as a plain value of the wrong
// type is.
func unwrapLongs(v any, path string) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if typ, ok := t["@type"].(string); ok && len(t) == 2 && (typ == int64Type || typ == uint64Type) {
			n, err := unwrapLong(typ, t["value"])
			if err != nil {
				return nil, apperr.New(apperr.Invalid, "%s%s", fieldPrefix(path), err.Error()).Because(httpedge.ReasonWrongType).On(path)
			}
			return n, nil
		}
		for k, e := range t {
			u, err := unwrapLongs(e, join(path, k))
			if err != nil {
				return nil, err
			}
			t[k] = u
		}
	case []any:
		for i, e := range t {
			u, err := unwrapLongs(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			t[i] = u
		}
	}
	return v, nil
}

// unwrapLong is the number a wrapper of type typ carries as value: a
// string holding an integer of the wrapper's kind.
func unwrapLong(typ string, value any) (json.Number, error) {
	s, ok := value.(string)
	if !ok {
		return "", fmt.Errorf("a %s must carry its value as a string", typ)
	}
	n := strings.TrimSpace(s)
	// The number is written again in canonical form: strconv reads "007"
	// and "+5", which are not JSON numbers (re-encoding them failed, an
	// INTERNAL answer: found by FuzzCallable).
	if typ == int64Type {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a 64-bit integer", s)
		}
		return json.Number(strconv.FormatInt(v, 10)), nil
	}
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%q is not an unsigned 64-bit integer", s)
	}
	return json.Number(strconv.FormatUint(v, 10)), nil
}

// fieldPrefix starts a message about the field at path ("data.amount: "),
// or about data itself.
func fieldPrefix(path string) string {
	if path == "" {
		return ""
	}
	return "data." + path + ": "
}

// describe turns encoding/json's errors into messages a storefront developer
// can act on, without Go type names.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return apperr.New(apperr.Invalid, "data must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value).Because(httpedge.ReasonWrongType)
		}
		return apperr.New(apperr.Invalid, "data.%s must be %s, not %s", field, jsonKind(te.Type.Kind().String()), te.Value).
			Because(httpedge.ReasonWrongType).On(field)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok { // unknownField finds them first
		return apperr.New(apperr.Invalid, "data has an unknown field %s", f).Because(httpedge.ReasonUnknownField).On(strings.Trim(f, `"`))
	}
	return apperr.New(apperr.Invalid, "data is malformed: %s", strings.TrimPrefix(msg, "json: ")).Because(httpedge.ReasonWrongType)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "a value"
}

// unknownField returns the path (dotted, lists as [i]) of the first field
// of tree, in sorted order, that t does not have, or "". encoding/json
// names only the last key of an unknown field; a storefront needs the
// whole path ("address.phoneNumber").
func unknownField(tree any, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := tree.(type) {
	case map[string]any:
		if t.Kind() != reflect.Struct {
			if t.Kind() == reflect.Map {
				for _, k := range sortedKeys(x) {
					if p := unknownField(x[k], t.Elem(), join(prefix, k)); p != "" {
						return p
					}
				}
			}
			return "" // a wrong type: the decoder says so
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(x) {
			ft, ok := fields[k]
			if !ok {
				for name, f := range fields { // encoding/json matches names case-insensitively
					if strings.EqualFold(name, k) {
						ft, ok = f, true
						break
					}
				}
			}
			if !ok {
				return join(prefix, k)
			}
			if p := unknownField(x[k], ft, join(prefix, k)); p != "" {
				return p
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, e := range x {
				if p := unknownField(e, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// jsonFields maps the JSON names of a struct's fields (embedded structs'
// included) to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}
