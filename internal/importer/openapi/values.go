package openapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/importer"
)

// obj is a JSON object from an extension's value.
type obj = map[string]any

// asObj returns v as an object, or nil.
func asObj(v any) obj {
	m, _ := v.(map[string]any)
	return m
}

// str returns m[key] as text: strings as they are, numbers and booleans as
// written.
func str(m obj, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	}
	return ""
}

// num returns m[key] as a number; ok is false when it is absent or not a
// number (numbers written as strings count).
func num(m obj, key string) (float64, bool) {
	return importer.Number(m[key])
}

// boolean returns m[key] as a boolean ("true" as a string counts).
func boolean(m obj, key string) bool {
	switch v := m[key].(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// strs returns m[key] as a list of text: a list, or one string (split at
// commas when split is set, as identity sources are written).
func strs(m obj, key string, split bool) []string {
	switch v := m[key].(type) {
	case string:
		if !split {
			return []string{v}
		}
		var out []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				out = append(out, fmt.Sprint(e))
			}
		}
		return out
	}
	return nil
}

// version writes a payload format version as AWS's strings do: a bare
// number 1 or 1.0 is "1.0".
func version(m obj, key string) string {
	if f, ok := m[key].(float64); ok {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return str(m, key)
}

// toJSON reads YAML or JSON into JSON, for the Swagger 2 reader.
func toJSON(data []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return json.Marshal(plain(v))
}

// plain makes a YAML-decoded value JSON-encodable (map keys as strings).
func plain(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = plain(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = plain(e)
		}
		return t
	}
	return v
}
