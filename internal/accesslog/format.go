// Package accesslog writes one line per request in the format an operator
// configured with AWS API Gateway's `$context` variables, to stderr, stdout
// or a file that is reopened for log rotation.
//
// A format is compiled once (Compile) into literal text and variable names;
// writing a line (Logger.Log) asks a Source for each variable's value,
// escapes it for the kind of format (JSON, XML, CSV or plain text such as
// CLF) into a pooled buffer, and writes the line with one Write call.
package accesslog

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/escape"
)

// MaxFormatBytes is AWS's limit on an access log format (3 KB).
const MaxFormatBytes = 3 << 10

// MaxValueBytes bounds one variable's value in a line; longer values (a
// 60 KB User-Agent) are cut there, at a character boundary. A log line
// stays bounded by the format's variables times this.
const MaxValueBytes = 8 << 10

// Empty is what a variable with no value is logged as, as AWS does.
const Empty = "-"

// Kind is how values are escaped, chosen from the shape of the format.
type Kind uint8

// The kinds of formats.
const (
	// Text is a free-text line such as CLF: '"' and '\' are escaped with
	// a backslash, control characters and invalid UTF-8 as \xHH (as
	// Apache's access log does), so a value can never end the line or
	// break out of a quoted field.
	Text Kind = iota
	// JSON is a format starting with '{': values are escaped as the
	// inside of a JSON string.
	JSON
	// XML is a format starting with '<': values are escaped as XML
	// character data.
	XML
	// CSV is a format whose variables are separated by commas and nothing
	// else: a value holding a comma, a quote or a control character is
	// quoted as RFC 4180 says, with control characters as \xHH.
	CSV
)

func (k Kind) String() string {
	switch k {
	case JSON:
		return "JSON"
	case XML:
		return "XML"
	case CSV:
		return "CSV"
	}
	return "text"
}

// segment is a piece of a compiled format: literal text, or (name != "")
// one $context variable. A quoted variable's value is written in double
// quotes (error.messageString, which AWS defines as the quoted message, for
// use outside quotes in JSON).
type segment struct {
	text   string
	name   string
	quoted bool
}

// quotedNames are the variables whose value is written in quotes.
var quotedNames = []string{"error.messageString"}

// Format is a compiled access log format. It is immutable and safe for
// concurrent use.
type Format struct {
	segs   []segment
	kind   Kind
	names  []string // distinct variable names, in order of appearance
	litLen int      // bytes of literal text, to size buffers
}

const contextPrefix = "$context."

// Compile parses a format: one line of text with `$context.NAME`
// variables, where NAME is letters, digits, '_', '-' and ':' in
// dot-separated parts (a trailing '.' is text). One trailing newline is
// allowed, as on AWS. Other `$` expressions ($input, $stageVariables,
// $util, ...) are refused: AWS allows only $context variables.
func Compile(format string) (*Format, error) {
	format = strings.TrimSuffix(format, "\n")
	if strings.TrimSpace(format) == "" {
		return nil, errors.New("the format is empty")
	}
	if len(format) > MaxFormatBytes {
		return nil, fmt.Errorf("the format is %d bytes; AWS allows at most %d", len(format), MaxFormatBytes)
	}
	if !utf8.ValidString(format) {
		return nil, errors.New("the format is not valid UTF-8")
	}
	if i := strings.IndexFunc(format, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
		return nil, fmt.Errorf("the format holds control character %q at offset %d; it must be one line", format[i], i)
	}
	f := &Format{}
	lit := 0
	for i := 0; i < len(format); {
		j := strings.IndexByte(format[i:], '$')
		if j < 0 {
			break
		}
		j += i
		rest := format[j:]
		if !strings.HasPrefix(rest, contextPrefix) {
			if len(rest) > 1 && isNameStart(rest[1]) {
				word := rest[1:]
				if k := strings.IndexFunc(word, func(r rune) bool { return r >= 0x80 || !isNameByte(byte(r)) }); k >= 0 {
					word = word[:k]
				}
				return nil, fmt.Errorf("$%s at offset %d: an access log format may hold only $context variables", word, j)
			}
			i = j + 1
			continue
		}
		name := scanName(rest[len(contextPrefix):])
		if name == "" {
			return nil, fmt.Errorf("$context. at offset %d is not followed by a variable name", j)
		}
		if j > lit {
			f.addText(format[lit:j])
		}
		f.segs = append(f.segs, segment{name: name, quoted: contains(quotedNames, name)})
		if !contains(f.names, name) {
			f.names = append(f.names, name)
		}
		i = j + len(contextPrefix) + len(name)
		lit = i
	}
	if lit < len(format) {
		f.addText(format[lit:])
	}
	if len(f.names) == 0 {
		return nil, errors.New("the format holds no $context variable")
	}
	f.kind = kindOf(format, f.segs)
	return f, nil
}

func (f *Format) addText(s string) {
	f.segs = append(f.segs, segment{text: s})
	f.litLen += len(s)
}

// Names returns the distinct variable names the format uses (without
// "$context."), in order of first appearance.
func (f *Format) Names() []string { return f.names }

// Kind reports how the format's values are escaped.
func (f *Format) Kind() Kind { return f.kind }

// kindOf tells the kind of a format from its first character, or, for a
// format whose variables are separated by commas alone, CSV.
func kindOf(format string, segs []segment) Kind {
	switch t := strings.TrimLeft(format, " \t"); {
	case strings.HasPrefix(t, "{"):
		return JSON
	case strings.HasPrefix(t, "<"):
		return XML
	}
	vars, commas := 0, true
	for i, s := range segs {
		if s.name != "" {
			vars++
			continue
		}
		if i > 0 && i < len(segs)-1 && s.text != "," {
			commas = false
		}
	}
	if vars > 1 && commas {
		return CSV
	}
	return Text
}

// scanName returns the variable name at the start of s.
func scanName(s string) string {
	n := 0
	for n < len(s) {
		start := n
		for n < len(s) && isNameByte(s[n]) {
			n++
		}
		if n == start { // an empty part: the dot before it was text
			if start > 0 {
				return s[:start-1]
			}
			return ""
		}
		if n < len(s) && s[n] == '.' && n+1 < len(s) && isNameByte(s[n+1]) {
			n++
			continue
		}
		break
	}
	return s[:n]
}

func isNameStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':'
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// Source gives one request's variable values. AppendContext appends the
// value of $context.NAME to dst, unescaped; appending nothing means the
// variable has no value (it is logged as "-").
type Source interface {
	AppendContext(dst []byte, name string) []byte
}

// Append renders one line (without the newline) into dst; scratch is a
// buffer for the raw value of one variable, returned for reuse.
func (f *Format) Append(dst, scratch []byte, src Source) (line, scratchOut []byte) {
	for _, s := range f.segs {
		if s.name == "" {
			dst = append(dst, s.text...)
			continue
		}
		scratch = src.AppendContext(scratch[:0], s.name)
		v := scratch
		if len(v) > MaxValueBytes {
			n := MaxValueBytes // v[n] is the first byte left out
			for n > 0 && !utf8.RuneStart(v[n]) {
				n--
			}
			v = v[:n]
		}
		switch {
		case len(v) == 0 && s.quoted && f.kind == JSON:
			dst = append(dst, "null"...) // the line stays JSON
			continue
		case len(v) == 0:
			dst = append(dst, Empty...)
			continue
		case s.quoted:
			dst = append(dst, '"')
		}
		switch f.kind {
		case JSON:
			dst = escape.AppendJSON(dst, v, false)
		case XML:
			dst = escape.AppendMarkup(dst, v, true)
		case CSV:
			dst = appendCSV(dst, v)
		default:
			dst = appendText(dst, v)
		}
		if s.quoted {
			dst = append(dst, '"')
		}
	}
	return dst, scratch
}

const hexDigits = "0123456789abcdef"

// appendText escapes v the way Apache's access log does: '"' and '\' with
// a backslash, control characters and invalid UTF-8 bytes as \xHH.
func appendText(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		if c := v[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\', c)
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] != '"' && v[j] != '\\' {
			j++
		}
		dst = appendValidText(dst, v[i:j])
		i = j
	}
	return dst
}

// appendCSV writes v as one CSV field: as is when it holds nothing
// special, else quoted with '"' doubled; control characters and invalid
// UTF-8 bytes become \xHH either way so that the record stays one line.
func appendCSV(dst, v []byte) []byte {
	quote := false
	for _, c := range v {
		if c == ',' || c == '"' || c < 0x20 || c == 0x7f {
			quote = true
			break
		}
	}
	if !quote {
		return appendValidText(dst, v)
	}
	dst = append(dst, '"')
	for i := 0; i < len(v); {
		c := v[i]
		if c == '"' {
			dst = append(dst, '"', '"')
			i++
			continue
		}
		j := i
		for j < len(v) && v[j] != '"' {
			j++
		}
		dst = appendValidText(dst, v[i:j])
		i = j
	}
	return append(dst, '"')
}

// appendValidText copies v with control characters and invalid UTF-8
// bytes as \xHH.
func appendValidText(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
		} else {
			dst = append(dst, v[i:i+n]...)
		}
		i += n
	}
	return dst
}
