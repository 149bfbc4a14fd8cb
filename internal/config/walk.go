package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// walk records the position of every value under its key path and reports
// keys that the target type does not have. It does the work of yaml's
// KnownFields itself because that option is not available when decoding from
// a Node, and decoding from a Node is what keeps `${VAR}` expansion from ever
// changing the document's structure.
func walk(n *yaml.Node, t reflect.Type, path string, pos map[string]Position, report func(*yaml.Node, string, string)) {
	pos[path] = Position{Line: n.Line, Column: n.Column}
	if n.Kind == yaml.AliasNode {
		report(n, path, "YAML aliases are not supported in the configuration")
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// yaml drops the position of errors from custom unmarshalers, so
		// run them here, where the node is known.
		if err := reflect.New(t).Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil && !isNull(n) {
			report(n, path, err.Error())
		} else if n.Kind == yaml.SequenceNode { // Strings: each entry has its place too
			for i, c := range n.Content {
				pos[path+"["+strconv.Itoa(i)+"]"] = Position{Line: c.Line, Column: c.Column}
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if !isNull(n) {
				report(n, path, "expected a mapping of keys")
			}
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				report(k, path, unknownKey(k.Value, fields))
				continue
			}
			walk(v, f.Type, JoinPath(path, k.Value), pos, report)
		}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return // free-form values, such as a user's extra claims
		}
		if n.Kind != yaml.MappingNode {
			if !isNull(n) {
				report(n, path, "expected a mapping of keys")
			}
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			walk(v, t.Elem(), JoinPath(path, k.Value), pos, report)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if !isNull(n) {
				report(n, path, "expected a list")
			}
			return
		}
		for i, c := range n.Content {
			walk(c, t.Elem(), path+"["+strconv.Itoa(i)+"]", pos, report)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			report(n, path, "expected a single value, not a list or mapping")
		}
	}
}

// checkRepeatedKeys reports a key given twice in one mapping, anywhere in
// the document (yaml would only say "already defined", without a column or
// a key path, and only when decoding).
func checkRepeatedKeys(n *yaml.Node, path string, report func(*yaml.Node, string, string)) {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode {
				if first, ok := seen[k.Value]; ok {
					report(k, JoinPath(path, k.Value), fmt.Sprintf("%q is given twice in this mapping (first on line %d): keep one of them", k.Value, first.Line))
				} else {
					seen[k.Value] = k
				}
			}
			checkRepeatedKeys(v, JoinPath(path, k.Value), report)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			checkRepeatedKeys(c, path+"["+strconv.Itoa(i)+"]", report)
		}
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// IsName reports whether s is a plain identifier: letters, digits, '_'
// and '-', as the names of authorizers, functions and rate limits must be.
func IsName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
}

// JoinPath appends key to a key path as File.Pos spells paths; keys that
// are not plain identifiers (such as "overwrite:header.x-user-id") are
// quoted in brackets so the path stays unambiguous.
func JoinPath(path, key string) string {
	if !IsName(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

func unknownKey(key string, fields map[string]reflect.StructField) string {
	best, bestDist := "", 3
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
		if d := editDistance(key, name); d < bestDist {
			best, bestDist = name, d
		}
	}
	if best != "" {
		return "unknown key " + strconv.Quote(key) + " (did you mean " + strconv.Quote(best) + "?)"
	}
	sort.Strings(names)
	return "unknown key " + strconv.Quote(key) + "; known keys here: " + strings.Join(names, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expandEnv replaces ${NAME} in scalar values (never in keys) with the
// environment's value. Only identifier names are expanded, so AWS mapping
// joins such as ${request.header.x} pass through untouched; `$${NAME}` writes
// a literal ${NAME}. Expansion happens on parsed nodes, so a value can never
// inject YAML structure.
func expandEnv(n *yaml.Node, lookup func(string) (string, bool), report func(*yaml.Node, string)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			expandEnv(c, lookup, report)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], lookup, report)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		v, missing := expandString(n.Value, lookup)
		for _, name := range missing {
			report(n, "environment variable "+name+" is not set")
		}
		if v != n.Value {
			n.Value = v
			if n.Style == 0 {
				n.Tag = "" // let a plain scalar be read again as number, bool...
			}
		}
	}
}

func expandString(s string, lookup func(string) (string, bool)) (string, []string) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") {
			end := strings.IndexByte(s[i:], '}')
			if end > 2 && isEnvName(s[i+2:i+end]) {
				name := s[i+2 : i+end]
				v, ok := lookup(name)
				if !ok {
					missing = append(missing, name)
				}
				b.WriteString(v)
				i += end + 1
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), missing
}

func isEnvName(s string) bool {
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
