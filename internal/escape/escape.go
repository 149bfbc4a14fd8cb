// Package escape writes a value into text the gateway generates: as the
// inside of a JSON string, or as XML/HTML character data. It is the one
// escaper of each kind that access log lines (package accesslog) and
// gateway response bodies (package gwresponse) use, so that a value can
// never end its string or element, whatever it holds. The functions take a
// string or a []byte and never allocate beyond growing dst.
package escape

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// jsonPlain and jsonPlainHTML mark the ASCII bytes AppendJSON copies as
// they are, without and with htmlSafe. Read only.
var jsonPlain, jsonPlainHTML = func() (plain, html [utf8.RuneSelf]bool) {
	for c := byte(0x20); c < 0x7f; c++ {
		plain[c] = c != '"' && c != '\\'
		html[c] = plain[c] && c != '<' && c != '>' && c != '&'
	}
	return plain, html
}()

// decodeRune decodes the rune at v[i:], which starts with a byte >=
// utf8.RuneSelf. The conversion copies at most utf8.UTFMax bytes, which
// stay on the stack.
func decodeRune[T string | []byte](v T, i int) (rune, int) {
	return utf8.DecodeRuneInString(string(v[i:min(i+utf8.UTFMax, len(v))]))
}

// AppendJSON appends v as the inside of a JSON string: '"', '\', control
// characters and U+2028/U+2029 escaped, invalid UTF-8 as \ufffd. With
// htmlSafe, '<', '>' and '&' are \u escapes too (as encoding/json writes
// them), so that a value cannot end a surrounding <script> either. Runs of
// bytes that need no escape are appended whole.
func AppendJSON[T string | []byte](dst []byte, v T, htmlSafe bool) []byte {
	plain := &jsonPlain
	if htmlSafe {
		plain = &jsonPlainHTML
	}
	run := 0 // start of the bytes not yet appended, which need no escape
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, v[run:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			run = i
			continue
		}
		r, n := decodeRune(v, i)
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, v[run:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, v[run:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n // kept, with the run
			continue
		}
		i += n
		run = i
	}
	return append(dst, v[run:]...)
}

// AppendMarkup appends v as XML or HTML character data, also safe inside a
// quoted attribute value: markup characters as character references, other
// control characters than tab, newline and carriage return (which XML 1.0
// cannot hold) and invalid UTF-8 as U+FFFD. With oneLine, tab, newline and
// carriage return are numeric references, so that the text stays one line
// (an access log line); else they are kept.
func AppendMarkup[T string | []byte](dst []byte, v T, oneLine bool) []byte {
	for i := 0; i < len(v); {
		c := v[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				dst = append(dst, "&amp;"...)
			case c == '<':
				dst = append(dst, "&lt;"...)
			case c == '>':
				dst = append(dst, "&gt;"...)
			case c == '"':
				dst = append(dst, "&#34;"...)
			case c == '\'':
				dst = append(dst, "&#39;"...)
			case c == '\t' || c == '\n' || c == '\r':
				if oneLine {
					dst = append(dst, '&', '#')
					dst = strconv.AppendInt(dst, int64(c), 10)
					dst = append(dst, ';')
				} else {
					dst = append(dst, c)
				}
			case c < 0x20 || c == 0x7f:
				dst = append(dst, "\uFFFD"...)
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := decodeRune(v, i)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, v[i:i+n]...)
		}
		i += n
	}
	return dst
}
