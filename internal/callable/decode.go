package callable

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/readyplanner/oms/internal/apperr"
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
		return apperr.New(apperr.Invalid, "data is not valid JSON")
	}
	if tree == nil {
		if t := reflect.TypeOf(v).Elem(); t.Kind() == reflect.Struct && t.NumField() == 0 {
			return nil
		}
		return apperr.New(apperr.Invalid, "data must be an object with this function's fields, not null")
	}
	tree, err := unwrapLongs(tree)
	if err != nil {
		return err
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

func unwrapLongs(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if typ, ok := t["@type"].(string); ok && len(t) == 2 && (typ == int64Type || typ == uint64Type) {
			s, ok := t["value"].(string)
			if !ok {
				return nil, apperr.New(apperr.Invalid, "a %s must carry its value as a string", typ)
			}
			n := strings.TrimSpace(s)
			if typ == int64Type {
				if _, err := strconv.ParseInt(n, 10, 64); err != nil {
					return nil, apperr.New(apperr.Invalid, "%q is not a 64-bit integer", s)
				}
			} else if _, err := strconv.ParseUint(n, 10, 64); err != nil {
				return nil, apperr.New(apperr.Invalid, "%q is not an unsigned 64-bit integer", s)
			}
			return json.Number(n), nil
		}
		for k, e := range t {
			u, err := unwrapLongs(e)
			if err != nil {
				return nil, err
			}
			t[k] = u
		}
	case []any:
		for i, e := range t {
			u, err := unwrapLongs(e)
			if err != nil {
				return nil, err
			}
			t[i] = u
		}
	}
	return v, nil
}

// describe turns encoding/json's errors into messages a storefront developer
// can act on, without Go type names.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			return apperr.New(apperr.Invalid, "data must be %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)
		}
		return apperr.New(apperr.Invalid, "data.%s must be %s, not %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return apperr.New(apperr.Invalid, "data has an unknown field %s", f)
	}
	return apperr.New(apperr.Invalid, "data is malformed: %s", strings.TrimPrefix(msg, "json: "))
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
