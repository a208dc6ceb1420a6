package httpapi

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/gin-gonic/gin"
)

// fields gives typed, exact-key access to a decoded JSON object. A key with
// a different case is a different (unknown, ignored) key: encoding/json would
// match it case-insensitively, so we never decode into structs here.
type fields map[string]json.RawMessage

func bodyFields(c *gin.Context) fields {
	v, _ := c.Get(jsonBodyKey)
	m, _ := v.(map[string]json.RawMessage)
	return fields(m)
}

func (f fields) has(key string) bool { _, ok := f[key]; return ok }

// str reads an optional string; a present value of another type (null
// included) is an error naming the field.
func (f fields) str(key string) (string, bool, error) {
	raw, ok := f[key]
	if !ok {
		return "", false, nil
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", true, newError(codeInvalidArgument, key+" must be a string")
	}
	return s, true, nil
}

func (f fields) boolean(key string, def bool) (bool, error) {
	raw, ok := f[key]
	if !ok {
		return def, nil
	}
	var b bool
	if json.Unmarshal(raw, &b) != nil || (string(raw) != "true" && string(raw) != "false") {
		return def, newError(codeInvalidArgument, key+" must be a boolean")
	}
	return b, nil
}

// integer reads an optional whole number within [lo, hi].
func (f fields) integer(key string, def, lo, hi int64, unit string) (int64, error) {
	raw, ok := f[key]
	if !ok {
		return def, nil
	}
	var n float64
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) || json.Unmarshal(raw, &n) != nil ||
		n != math.Trunc(n) || n < float64(lo) || n > float64(hi) {
		return def, newError(codeInvalidArgument, fmt.Sprintf("%s must be a whole number of %s from %d to %d", key, unit, lo, hi))
	}
	return int64(n), nil
}

// object reads an optional JSON object as fields.
func (f fields) object(key string) (fields, bool, error) {
	raw, ok := f[key]
	if !ok {
		return nil, false, nil
	}
	var m map[string]json.RawMessage
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return nil, true, newError(codeInvalidArgument, key+" must be an object")
	}
	return fields(m), true, nil
}
