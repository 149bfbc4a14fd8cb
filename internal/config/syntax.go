package config

// Where a file that yaml refused is really wrong. yaml reports a syntax
// error at the line where the enclosing block began (a mis-indented line 6
// inside a mapping that starts on line 3 is "line 3: did not find expected
// key"), never with a column, and in the parser's terms. locateSyntaxError
// reads the file line by line, as the block structure of a configuration
// file is written, and finds the common mistakes itself: a tab in the
// indentation, a line indented to no level of the lines above it, a key
// without its ':', a line inside a list that is not a '- ' item, a quote or
// bracket that is never closed. Anything else keeps yaml's line, with its
// message explained in words (explainYAML).

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"
)

// syntaxProblem is one problem found in the text.
type syntaxProblem struct {
	line, col int    // from 1; col counts characters
	path      string // the key path of the line, as far as it is known
	msg       string
	// unclosed: a quote or bracket opened here and never closed. yaml
	// reports those where the file ends, after the place they are opened.
	unclosed bool
	// guess: valid YAML read as a likely mistake (a string that runs on
	// into what reads as the next key).
	guess bool
}

// blockLevel is one open block mapping or list.
type blockLevel struct {
	indent int // the column (in bytes) of its keys or '-' indicators
	seq    bool
	key    string // mapping: the current key
	index  int    // list: the current item
	line   int    // where the current key or item is
	// open: the current key or item had no value on its line, so its
	// value (a nested block) comes on the lines below.
	open bool
}

// blockScanner walks the lines of a YAML text. The zero value is not ready:
// use locateSyntaxError.
type blockScanner struct {
	lines  []string
	stack  []blockLevel
	lineNo int // current line, from 1

	// Multi-line constructs carried from one line to the next.
	scalarIndent int    // >= 0: inside a block scalar (| or >) whose parent is at this indent
	plainIndent  int    // >= 0: a plain scalar may continue on lines indented more than this
	quote        byte   // '"' or '\'' while inside a quoted scalar
	flow         []byte // open '[' and '{' while inside a flow collection
	openLine     int    // where the quote or the outermost bracket was opened
	openCol      int    // its byte offset in that line
	openIndent   int    // the indentation of that line
	openPath     string
	quoteLine    int // where the open quote is
	quoteCol     int
	expectValue  bool // in a flow collection: a value may start here (a quote opens a string)
	afterQuoted  bool // in a flow collection: a quoted string just ended
	stopped      bool // the text went beyond what this reads: leave the rest to yaml
}

// keyLine is a line that reads as a block mapping key at its indentation.
var keyLine = regexp.MustCompile(`^( *)[A-Za-z_][A-Za-z0-9_.-]*:( |$)`)

// locateSyntaxError finds the first problem in data that it recognizes.
func locateSyntaxError(data []byte) (syntaxProblem, bool) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return syntaxProblem{}, false // UTF-16, which yaml reads too
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	s := &blockScanner{
		lines:        strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(data)), "\n"),
		scalarIndent: -1,
		plainIndent:  -1,
	}
	for i, line := range s.lines {
		s.lineNo = i + 1
		if p, ok := s.scanLine(line); ok {
			return p, true
		}
		if s.stopped {
			return syntaxProblem{}, false
		}
	}
	if s.quote != 0 || len(s.flow) > 0 {
		return s.unclosedProblem(), true
	}
	return syntaxProblem{}, false
}

// at makes a problem at byte offset off of the current line.
func (s *blockScanner) at(off int, path, format string, args ...any) syntaxProblem {
	line := s.lines[s.lineNo-1]
	off = min(max(off, 0), len(line))
	return syntaxProblem{line: s.lineNo, col: utf8.RuneCountInString(line[:off]) + 1, path: path, msg: fmt.Sprintf(format, args...)}
}

func (s *blockScanner) unclosedProblem() syntaxProblem {
	at, col := s.openLine, s.openCol
	if s.quote != 0 {
		at, col = s.quoteLine, s.quoteCol
	}
	line := s.lines[at-1]
	p := syntaxProblem{line: at, col: utf8.RuneCountInString(line[:col]) + 1, path: s.openPath, unclosed: true}
	if s.quote != 0 {
		p.msg = fmt.Sprintf("the string that starts here with %c is never closed: add the closing %c where the value ends (on this line)", s.quote, s.quote)
	} else {
		closer := map[byte]byte{'[': ']', '{': '}'}[s.flow[0]]
		p.msg = fmt.Sprintf("the %c opened here is never closed: add %c after its last value, or the ',' missing between two of its values", s.flow[0], closer)
	}
	return p
}

// path is the key path of the open levels, with key (if any) appended.
func (s *blockScanner) path(key string) string {
	return s.pathAt(math.MaxInt, key)
}

// pathAt is the key path of a line at indent with key (if any): the open
// levels shallower than indent, then key.
func (s *blockScanner) pathAt(indent int, key string) string {
	p := ""
	for _, l := range s.stack {
		if l.indent >= indent {
			break
		}
		switch {
		case l.seq && l.index >= 0:
			p += fmt.Sprintf("[%d]", l.index)
		case !l.seq && l.key != "":
			p = JoinPath(p, l.key)
		}
	}
	if key != "" {
		p = JoinPath(p, key)
	}
	return p
}

func (s *blockScanner) top() *blockLevel {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

// scanLine reads one line. A problem stops the walk.
func (s *blockScanner) scanLine(line string) (syntaxProblem, bool) {
	// Inside a quoted scalar or a flow collection that began above.
	if s.quote != 0 || len(s.flow) > 0 {
		if m := keyLine.FindStringSubmatch(line); m != nil && s.quote != 0 && len(m[1]) <= s.openIndent {
			// A string running on into a line that reads as a key of the
			// enclosing block, no deeper than the line it began on: valid
			// YAML, but surely a missing closing quote (a guess: yaml
			// reports the text after where the next quote ends it).
			p := s.unclosedProblem()
			p.msg = strings.Replace(p.msg, "is never closed", fmt.Sprintf("is not closed before line %d", s.lineNo), 1)
			p.guess = true
			return p, true
		}
		end, ok := s.scanInline(line, 0)
		if !ok || s.quote != 0 || len(s.flow) > 0 {
			return syntaxProblem{}, false
		}
		if rest := strings.TrimSpace(line[end:]); rest != "" && rest[0] != '#' {
			s.stopped = true // more on the line that closed it: yaml judges it
		}
		return syntaxProblem{}, false
	}

	indent := 0
	for indent < len(line) && (line[indent] == ' ' || line[indent] == '\t') {
		if line[indent] == '\t' {
			if rest := strings.TrimLeft(line, " \t"); rest == "" || rest[0] == '#' {
				return syntaxProblem{}, false // a blank line or a comment
			}
			// Past the indentation of a block scalar's or a plain
			// value's continued lines, a tab is just a separator.
			if (s.scalarIndent >= 0 && indent > s.scalarIndent) || (s.plainIndent >= 0 && indent > s.plainIndent) {
				return syntaxProblem{}, false
			}
			path := s.pathAt(indent, "")
			if t := s.top(); t != nil && t.open {
				path = s.path("") // the line would be the value of the open key
			}
			return s.at(indent, path, "a tab in the indentation: YAML indents with spaces only; replace the tab with spaces"), true
		}
		indent++
	}
	content := line[indent:]
	if content == "" || content[0] == '#' {
		return syntaxProblem{}, false // blank lines and comments end nothing
	}

	// The rest of a block scalar (| or >): lines deeper than its parent.
	if s.scalarIndent >= 0 {
		if indent > s.scalarIndent {
			return syntaxProblem{}, false
		}
		s.scalarIndent = -1
	}
	if indent == 0 && (documentMarker(content, "---") || documentMarker(content, "...")) {
		// Before the content, the start of the one document; after it,
		// another document, which is yaml's (and decode's) business.
		s.stopped = len(s.stack) > 0
		return syntaxProblem{}, false
	}
	if strings.IndexByte("?%&!*|>[{@`", content[0]) >= 0 {
		// Complex keys, directives, anchors, tags, aliases, block scalars
		// and flow collections at the start of a line, reserved
		// characters: not the block structure this reads; leave the
		// report to yaml.
		s.stopped = true
		return syntaxProblem{}, false
	}

	// A plain scalar continued on a deeper line.
	if s.plainIndent >= 0 {
		plainIndent := s.plainIndent
		s.plainIndent = -1
		if indent > plainIndent {
			if mappingColon(content) < 0 {
				s.plainIndent = plainIndent // more of the same value ("- x" too)
				return syntaxProblem{}, false
			}
			t := s.top()
			return s.at(indent, s.pathAt(t.indent, keyOf(content)),
				"a key indented deeper than the line above (%s, not %d), which already has a value on line %d: indent it to %d spaces like its neighbours, or, if it belongs under that key, move the value off that line",
				spaces(indent), t.indent, t.line, t.indent), true
		}
	}

	if strings.HasPrefix(content, "-\t") {
		path := s.pathAt(indent+1, "")
		if t := s.top(); t != nil && t.open {
			path = s.path("")
		}
		return s.at(indent+1, path, "a tab after '-': YAML separates with spaces only; write '- ' with a space"), true
	}
	return s.placeBlock(line, indent)
}

// placeBlock fits a line that begins a key, a list item or a value at
// indent into the open levels, then reads the rest of the line.
func (s *blockScanner) placeBlock(line string, indent int) (syntaxProblem, bool) {
	content := line[indent:]
	isItem := content == "-" || strings.HasPrefix(content, "- ")
	colon := -1
	if !isItem {
		colon = mappingColon(content)
	}
	key := ""
	if colon >= 0 {
		key = unquoteKey(strings.TrimSpace(content[:colon]))
	} else if !isItem && (content[0] == '"' || content[0] == '\'') {
		s.stopped = true // a quoted value on its own line: yaml judges it
		return syntaxProblem{}, false
	}

	// The first line: the root.
	if len(s.stack) == 0 {
		if !isItem && colon < 0 {
			s.stopped = true // a scalar document; yaml judges it
			return syntaxProblem{}, false
		}
		s.stack = append(s.stack, blockLevel{indent: indent, seq: isItem, index: -1})
		return s.enter(line, indent, isItem, colon, key)
	}

	t := s.top()
	if t.open {
		t.open = false
		switch {
		case indent > t.indent && !isItem && colon < 0:
			// The value of the key above, on its own line: its lines
			// continue as long as they are deeper than the key.
			return s.value(line, indent, t.indent)
		case indent > t.indent:
			s.stack = append(s.stack, blockLevel{indent: indent, seq: isItem, index: -1})
			return s.enter(line, indent, isItem, colon, key)
		case indent == t.indent && !t.seq && isItem:
			// A list as the value of a key, written at the key's own
			// indentation: allowed.
			s.stack = append(s.stack, blockLevel{indent: indent, seq: true, index: -1})
			return s.enter(line, indent, isItem, colon, key)
		}
	}

	// Back out of the levels deeper than this line.
	popped := -1
	for len(s.stack) > 1 && s.top().indent > indent {
		popped = s.top().indent
		s.stack = s.stack[:len(s.stack)-1]
	}
	t = s.top()
	// A list written at its key's indentation ends where the keys go on.
	if t.seq && t.indent == indent && !isItem && len(s.stack) > 1 {
		if below := s.stack[len(s.stack)-2]; !below.seq && below.indent == indent {
			s.stack = s.stack[:len(s.stack)-1]
			t = s.top()
		}
	}

	switch {
	case t.indent == indent && t.seq && isItem,
		t.indent == indent && !t.seq && colon >= 0:
		return s.enter(line, indent, isItem, colon, key)
	case t.indent == indent && t.seq:
		return s.at(indent, s.pathAt(indent+1, key),
			"this line is indented like the '- ' items of the list above (%s) but is not an item: indent it to %d spaces to put it in the item of line %d, or begin it with '- ' to start a new item",
			spaces(indent), indent+2, t.line), true
	case t.indent == indent && isItem:
		return s.at(indent, s.pathAt(indent, ""),
			"a '- ' list item among the keys of a mapping: put the list under its key (key: on its own line, the items below it), or indent it"), true
	case t.indent == indent:
		return s.missingColon(line, indent)
	case indent < t.indent:
		// Less indented than the first line: yaml's own business.
		s.stopped = true
		return syntaxProblem{}, false
	case popped >= 0:
		return s.at(indent, s.pathAt(indent, key),
			"this line is indented %s, which matches none of the lines above it: the keys of the mapping it follows are at %d spaces and those of the one around that at %d; indent it like one of them",
			spaces(indent), popped, t.indent), true
	default:
		return s.at(indent, s.pathAt(t.indent, key),
			"this line is indented deeper than the one above (%s, not %d), which already has a value on line %d: indent it to %d spaces like its neighbours, or, if it belongs under that key, move the value off that line",
			spaces(indent), t.indent, t.line, t.indent), true
	}
}

// missingColon reports a line at the indentation of mapping keys that has
// no "key: " in it.
func (s *blockScanner) missingColon(line string, indent int) (syntaxProblem, bool) {
	content := line[indent:]
	word := content
	if i := strings.IndexAny(content, " \t#"); i >= 0 {
		word = content[:i]
	}
	if word == "" {
		return syntaxProblem{}, false
	}
	return s.at(indent+len(word), s.pathAt(indent, word),
		"%q has no ':' after it: write \"%s: value\" (a colon, then a space), or \"%s:\" with its value indented on the lines below",
		word, word, word), true
}

// enter records a line that fits at indent: a key (colon >= 0) or a list
// item, then reads what follows on the line.
func (s *blockScanner) enter(line string, indent int, isItem bool, colon int, key string) (syntaxProblem, bool) {
	t := s.top()
	t.line = s.lineNo
	if isItem {
		t.index++
		rest := line[indent+1:]
		if strings.TrimSpace(rest) == "" || strings.HasPrefix(strings.TrimSpace(rest), "#") {
			t.open = true
			return syntaxProblem{}, false
		}
		// "- key: value" or "- - x": the item's content starts a block of
		// its own at the column of its first character.
		at := indent + 1
		for at < len(line) && line[at] == ' ' {
			at++
		}
		if at < len(line) && line[at] == '\t' {
			return s.at(at, s.path(""), "a tab after '- ': YAML indents with spaces only; use spaces"), true
		}
		inner := line[at:]
		if strings.IndexByte("?%&!*@`", inner[0]) >= 0 {
			s.stopped = true // as at the start of a line
			return syntaxProblem{}, false
		}
		innerItem := inner == "-" || strings.HasPrefix(inner, "- ")
		innerColon := -1
		if !innerItem {
			innerColon = mappingColon(inner)
		}
		if innerItem || innerColon >= 0 {
			innerKey := ""
			if innerColon >= 0 {
				innerKey = unquoteKey(strings.TrimSpace(inner[:innerColon]))
			}
			s.stack = append(s.stack, blockLevel{indent: at, seq: innerItem, index: -1})
			return s.enter(line, at, innerItem, innerColon, innerKey)
		}
		return s.value(line, at, indent)
	}
	t.key = key
	at := indent + colon + 1
	for at < len(line) && (line[at] == ' ' || line[at] == '\t') {
		at++
	}
	if at >= len(line) || line[at] == '#' {
		t.open = true
		return syntaxProblem{}, false
	}
	return s.value(line, at, indent)
}

// value reads a value that starts at byte at of line; parent is the
// indentation of its key or '-'.
func (s *blockScanner) value(line string, at, parent int) (syntaxProblem, bool) {
	v := line[at:]
	// Anchors and tags before the value: the value is what follows them.
	for len(v) > 0 && (v[0] == '&' || v[0] == '!') {
		sp := strings.IndexAny(v, " \t")
		if sp < 0 {
			s.top().open = true
			return syntaxProblem{}, false
		}
		at += sp
		for at < len(line) && (line[at] == ' ' || line[at] == '\t') {
			at++
		}
		v = line[at:]
		if v == "" || v[0] == '#' {
			s.top().open = true
			return syntaxProblem{}, false
		}
	}
	switch v[0] {
	case '|', '>':
		s.scalarIndent = parent
		return syntaxProblem{}, false
	case '"', '\'', '[', '{':
		s.openLine, s.openCol, s.openIndent, s.openPath = s.lineNo, at, parent, s.path("")
		end, ok := s.scanInline(line, at)
		if !ok {
			return s.at(end, s.openPath, "a %c closes what was never opened: remove it, or quote the value", line[end]), true
		}
		if s.quote != 0 || len(s.flow) > 0 {
			return syntaxProblem{}, false // goes on below
		}
		if rest := strings.TrimSpace(line[end:]); rest != "" && rest[0] != '#' {
			off := end + strings.Index(line[end:], rest)
			if rest[0] == ']' || rest[0] == '}' {
				return s.at(off, s.openPath, "a %c closes what was never opened: remove it", rest[0]), true
			}
			return s.at(off, s.openPath, "unexpected text after the closing quote or bracket: quote the whole value"), true
		}
		return syntaxProblem{}, false
	}
	s.plainIndent = parent
	return syntaxProblem{}, false
}

// scanInline follows quotes and brackets from byte from of line, carrying
// the state of s. It stops at the end of the line or, in no quote and no
// bracket, after the one it closed; ok is false at a closing bracket that
// matches nothing (end is its offset).
func (s *blockScanner) scanInline(line string, from int) (end int, ok bool) {
	started := s.quote != 0 || len(s.flow) > 0
	if !started {
		s.expectValue, s.afterQuoted = true, false
	}
	for i := from; i < len(line); i++ {
		c := line[i]
		switch s.quote {
		case '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				s.quote, s.afterQuoted = 0, true
			}
		case '\'':
			if c == '\'' {
				if i+1 < len(line) && line[i+1] == '\'' {
					i++
				} else {
					s.quote, s.afterQuoted = 0, true
				}
			}
		default:
			afterQuoted := s.afterQuoted
			s.afterQuoted = false
			switch c {
			case ' ', '\t':
				s.afterQuoted = afterQuoted // spaces change nothing
			case '"', '\'':
				// A quote starts a string only where a value starts: inside
				// a plain value it is a character like any other.
				if s.expectValue {
					s.quote, s.quoteLine, s.quoteCol = c, s.lineNo, i
				}
				s.expectValue = false
			case '[', '{':
				s.flow = append(s.flow, c)
				s.expectValue = true
			case ',':
				s.expectValue = true
			case ']', '}':
				if len(s.flow) == 0 || (c == ']') != (s.flow[len(s.flow)-1] == '[') {
					return i, false
				}
				s.flow = s.flow[:len(s.flow)-1]
				s.expectValue = false
			case ':':
				// ": " starts a value, and so does ':' right after a quoted
				// key (JSON style); otherwise it is part of a plain value.
				s.expectValue = i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t' || afterQuoted
			case '#':
				if i == 0 || line[i-1] == ' ' || line[i-1] == '\t' {
					return len(line), true // a comment
				}
				s.expectValue = false
			default:
				s.expectValue = false
			}
		}
		started = started || s.quote != 0 || len(s.flow) > 0
		if started && s.quote == 0 && len(s.flow) == 0 {
			return i + 1, true
		}
	}
	return len(line), true
}

// documentMarker reports whether a line is the marker m, alone or before a
// space.
func documentMarker(line, m string) bool {
	return line == m || strings.HasPrefix(line, m+" ") || strings.HasPrefix(line, m+"\t")
}

func spaces(n int) string {
	return fmt.Sprintf("%d %s", n, Plural(n, "space", "spaces"))
}

// mappingColon is the offset of the ':' that makes content a "key: value"
// (a colon followed by a space or the end of the line, outside quotes), or
// -1.
func mappingColon(content string) int {
	i := 0
	if content != "" && (content[0] == '"' || content[0] == '\'') {
		q := content[0]
		for i = 1; i < len(content); i++ {
			if content[i] == '\\' && q == '"' {
				i++
				continue
			}
			if content[i] == q {
				if q == '\'' && i+1 < len(content) && content[i+1] == '\'' {
					i++
					continue
				}
				break
			}
		}
		if i >= len(content) {
			return -1
		}
		// After a quoted key only spaces may come before its ':'.
		i++
		for i < len(content) && (content[i] == ' ' || content[i] == '\t') {
			i++
		}
		if i < len(content) && content[i] == ':' && (i+1 == len(content) || content[i+1] == ' ' || content[i+1] == '\t') {
			return i
		}
		return -1
	} else if content != "" && (content[0] == '[' || content[0] == '{') {
		return -1
	}
	for ; i < len(content); i++ {
		switch content[i] {
		case ':':
			if i+1 == len(content) || content[i+1] == ' ' || content[i+1] == '\t' {
				return i
			}
		case '#':
			if i > 0 && (content[i-1] == ' ' || content[i-1] == '\t') {
				return -1
			}
		}
	}
	return -1
}

// keyOf is the key of a line's content, or "".
func keyOf(content string) string {
	if i := mappingColon(content); i >= 0 {
		return unquoteKey(strings.TrimSpace(content[:i]))
	}
	return ""
}

func unquoteKey(k string) string {
	if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') && k[len(k)-1] == k[0] {
		return k[1 : len(k)-1]
	}
	return k
}

// explainYAML turns a message of yaml's parser into what is wrong and how
// to fix it, keeping yaml's words at the end for searching.
func explainYAML(msg string) string {
	for _, e := range [...]struct{ yaml, words string }{
		{"did not find expected key", "the structure breaks here: a line below is indented to no level of the lines above it, or a value with special characters needs quotes"},
		{"mapping values are not allowed in this context", "a \"key: value\" where no key can start: check the indentation of this line and the one above it, and quote values that contain \": \""},
		{"could not find expected ':'", "a key without ':' after it: write \"key: value\""},
		{"found a tab character", "a tab in the indentation: YAML indents with spaces only"},
		{"found character that cannot start any token", "a character that cannot start a value here (a tab, or @ or ` at the start of a value): indent with spaces, and quote such values"},
		{"found unexpected end of stream", "the file ends inside a quoted string or a [ ] or { } list: close it"},
		{"did not find expected ',' or ']'", "a [ list is not closed, or a ',' is missing between two of its values"},
		{"did not find expected ',' or '}'", "a { mapping is not closed, or a ',' is missing between two of its entries"},
		{"did not find expected '-' indicator", "a line inside a list does not start with '- ': indent it under the item it belongs to, or begin it with '- '"},
		{"block sequence entries are not allowed in this context", "a '- ' list item where a value is already given: put the list on the lines below its key"},
		{"did not find expected node content", "a value is missing, or begins with a character YAML reserves: quote it"},
		{"found unknown escape character", "an unknown \\ escape in a double-quoted string: write \\\\ for a backslash, or use single quotes"},
		{"found undefined tag handle", "a value begins with '!', which YAML reads as a tag: quote it"},
	} {
		if strings.Contains(msg, e.yaml) {
			return e.words + " (YAML: " + msg + ")"
		}
	}
	return "YAML syntax: " + msg
}
