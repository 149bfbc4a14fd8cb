package sam

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// line returns the line of the template (top, its top mapping) that a
// note's source names (lineOf), 0 for none. A resource's property that the
// Globals section names further than the resource does is found there,
// where SAM takes it from.
func (t *translator) line(top *yaml.Node, source string) int {
	line, found := lineOf(top, source)
	if rest, ok := strings.CutPrefix(source, "Resources."); ok {
		name, prop, _ := strings.Cut(rest, ".Properties.")
		kind, serverless := strings.CutPrefix(text(asMap(asMap(t.tmpl["Resources"])[name])["Type"]), "AWS::Serverless::")
		// Resources.NAME.Properties against Globals.KIND: one key fewer.
		if global, gfound := lineOf(top, "Globals."+kind+"."+prop); serverless && prop != "" && gfound > 2 && gfound+1 > found {
			return global
		}
	}
	return line
}

// lineOf returns the line in the template whose top mapping is top where
// source, a note's Source (a dotted path such as
// Resources.Fn.Properties.CodeUri, list items written [i]), leads: the line
// of the deepest key or item it names (0 when not even the first is
// there), and how many of the path's keys it found. What follows a space
// or a "(" is inside an embedded definition or an included file, whose
// lines are not the template's.
func lineOf(top *yaml.Node, source string) (line, found int) {
	if i := strings.IndexAny(source, " ("); i >= 0 {
		source = source[:i]
	}
	n := top
	for _, part := range strings.Split(source, ".") {
		name, index, _ := strings.Cut(part, "[")
		key, value := mappingEntry(n, name)
		if key == nil {
			return line, found
		}
		n, line = value, key.Line
		for index != "" {
			var i string
			i, index, _ = strings.Cut(index, "]")
			index = strings.TrimPrefix(index, "[")
			item, err := strconv.Atoi(i)
			if n.Kind == yaml.AliasNode {
				n = n.Alias
			}
			if err != nil || n.Kind != yaml.SequenceNode || item < 0 || item >= len(n.Content) {
				return line, found
			}
			n = n.Content[item]
			line = n.Line
		}
		found++
	}
	return line, found
}

// mappingEntry returns the key node named name in the mapping n and its
// value, or nils.
func mappingEntry(n *yaml.Node, name string) (key, value *yaml.Node) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == name {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
