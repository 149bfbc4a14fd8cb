package importer

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/portcullis/portcullis/internal/config"
)

// Render writes r as a configuration file: the values that are set, in the
// order of the configuration reference, each note as a comment at the place
// its value would go (after the nearest enclosing value that exists), and
// header, when not empty, as the opening comment.
func Render(r *Result, header string) ([]byte, error) {
	idx := map[string]spot{}
	root := node(reflect.ValueOf(r.Config), "", idx)
	idx[""] = spot{value: root}
	for _, n := range r.Notes {
		text, err := noteComment(n)
		if err != nil {
			return nil, err
		}
		attach(idx, n.Path, text)
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}, HeadComment: header}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("importer: writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("importer: writing YAML: %w", err)
	}
	out := b.Bytes()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	if len(out) > config.MaxFileSize {
		return nil, fmt.Errorf("importer: the configuration would be %d bytes, larger than the %d bytes a configuration file may have; nothing written", len(out), config.MaxFileSize)
	}
	return out, nil
}

// Node renders v (a configuration struct or any value) as YAML the way
// Render does: unset fields left out.
func Node(v any) *yaml.Node { return node(reflect.ValueOf(v), "", map[string]spot{}) }

// spot is where a key path landed: its key node (nil for list items and the
// root) and its value node.
type spot struct{ key, value *yaml.Node }

func noteComment(n Note) (string, error) {
	head := "NOT CARRIED OVER"
	if n.Placeholder {
		head = "PLACEHOLDER"
	}
	switch {
	case n.Position != "" && n.Source != "":
		head += " (" + n.Position + ": " + n.Source + ")"
	case n.Position != "" || n.Source != "":
		head += " (" + n.Position + n.Source + ")"
	}
	lines := []string{head + ": " + n.Reason}
	if n.Value != nil {
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(Node(n.Value)); err != nil {
			return "", fmt.Errorf("importer: writing a note's value: %w", err)
		}
		enc.Close()
		for _, l := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			lines = append(lines, "  "+l)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func attach(idx map[string]spot, path, text string) {
	if s, ok := idx[path]; ok && path != "" {
		target := s.key
		if target == nil {
			target = s.value
		}
		target.HeadComment = joinComment(target.HeadComment, text)
		return
	}
	for path != "" {
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			path = ""
			break
		}
		path = path[:i]
		if _, ok := idx[path]; ok {
			break
		}
	}
	s := idx[path]
	if s.key != nil {
		s.key.FootComment = joinComment(s.key.FootComment, text)
		return
	}
	s.value.FootComment = joinComment(s.value.FootComment, text)
}

func joinComment(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n\n" + b
}

var (
	durationType = reflect.TypeFor[config.Duration]()
	stringsType  = reflect.TypeFor[config.Strings]()
)

// node builds the YAML for v and records each value's spot under its key
// path (the paths config.File.Pos uses).
func node(v reflect.Value, path string, idx map[string]spot) *yaml.Node {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		}
		v = v.Elem()
	}
	switch v.Type() {
	case durationType:
		return scalar("!!str", durationText(time.Duration(v.Int())))
	case stringsType:
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			seq.Content = append(seq.Content, scalar("!!str", v.Index(i).String()))
		}
		return seq
	}
	switch v.Kind() {
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		t := v.Type()
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			f := v.Field(i)
			if name == "" || name == "-" || !t.Field(i).IsExported() || (f.Kind() != reflect.Pointer && f.IsZero()) || (f.Kind() == reflect.Pointer && f.IsNil()) {
				continue
			}
			addEntry(m, name, f, path, idx)
		}
		return m
	case reflect.Map:
		m := &yaml.Node{Kind: yaml.MappingNode}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			addEntry(m, fmt.Sprint(k), v.MapIndex(k), path, idx)
		}
		return m
	case reflect.Slice, reflect.Array:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range v.Len() {
			p := path + "[" + strconv.Itoa(i) + "]"
			item := node(v.Index(i), p, idx)
			idx[p] = spot{value: item}
			seq.Content = append(seq.Content, item)
		}
		if len(seq.Content) > 0 && seq.Content[0].Kind == yaml.ScalarNode {
			seq.Style = yaml.FlowStyle
		}
		return seq
	case reflect.String:
		return scalar("!!str", v.String())
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return scalar("!!int", strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := strconv.FormatFloat(v.Float(), 'g', -1, 64)
		if _, err := strconv.ParseInt(f, 10, 64); err == nil {
			return scalar("!!int", f) // 5, not `!!float 5`: a float field reads it the same
		}
		return scalar("!!float", f)
	}
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil {
		return scalar("!!str", fmt.Sprint(v.Interface()))
	}
	return &n
}

func addEntry(m *yaml.Node, name string, v reflect.Value, path string, idx map[string]spot) {
	p := config.JoinPath(path, name)
	k := scalar("!!str", name)
	val := node(v, p, idx)
	idx[p] = spot{key: k, value: val}
	m.Content = append(m.Content, k, val)
}

// durationText writes whole seconds and milliseconds as "300s" and
// "1500ms", which read better than "5m0s".
func durationText(d time.Duration) string {
	switch {
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}
