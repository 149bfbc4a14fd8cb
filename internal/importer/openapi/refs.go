package openapi

import "strings"

// followRefs follows a chain of local $refs from ref while the object a ref
// points to is itself a $ref (next returns that $ref, or "" when the
// object holds a value or does not exist) and returns the last ref, the
// one whose object ends the chain. When the chain comes back to a ref it
// has followed, last is "" and cycle lists the refs from ref to the
// repeated one: kin-openapi resolves such a $ref to nothing, and API
// Gateway refuses the definition.
func followRefs(ref string, next func(ref string) string) (last string, cycle []string) {
	seen := map[string]bool{}
	for {
		if seen[ref] {
			return "", append(cycle, ref)
		}
		seen[ref] = true
		cycle = append(cycle, ref)
		n := next(ref)
		if n == "" {
			return ref, nil
		}
		ref = n
	}
}

// refCycleText says that cycle (from followRefs) is a $ref cycle and names
// each ref in it.
func refCycleText(cycle []string) string {
	return "a $ref cycle: " + strings.Join(cycle, " -> ")
}

// pointerTo is the local $ref of the object name under prefix, name's "~"
// and "/" escaped as a JSON pointer writes them.
func pointerTo(prefix, name string) string {
	return prefix + strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

// localRef returns the name a local $ref gives under prefix (such as
// "#/components/securitySchemes/"), with the JSON pointer's escapes
// decoded ("~1" is "/", "~0" is "~"); ok is false for a ref elsewhere.
func localRef(ref, prefix string) (name string, ok bool) {
	name, ok = strings.CutPrefix(ref, prefix)
	return strings.NewReplacer("~1", "/", "~0", "~").Replace(name), ok
}
