// Package httpheader checks HTTP header field names and values. ValidName
// is the one check of a header name (and of a method, the same grammar):
// the names the gateway sends or relays (the proxy's request to a backend, a
// Lambda proxy function's response headers, a Runtime API request), those a
// configuration names (parameter mapping, CORS, gateway responses, mock
// integrations) and those a proxy reports (ext_authz, forward-auth methods).
// ValidValue is the one check of a value the gateway sends or relays (the
// proxy's request to a backend, headers set by parameter mapping, a Lambda
// proxy function's response headers, gateway response headers), so that all
// of them refuse the same bytes.
package httpheader

import "golang.org/x/net/http/httpguts"

// ValidName reports whether name may be a header field name: an RFC 9110
// token (1*tchar: ASCII letters and digits and !#$%&'*+-.^_`|~), which is
// also the grammar of a method (RFC 9110 section 9.1). It refuses exactly
// what httpguts.ValidHeaderFieldName refuses (net/http's server answers
// 400 to such a name, its Transport will not send it): the empty name, space
// and the other controls, DEL, the delimiters "(),/:;<=>?@[\]{} and
// every byte above 0x7f. It takes a []byte (a Runtime API request's) as
// well, which a string conversion would copy, and reads name a byte at a
// time with a table made from httpguts's verdict on each byte, which is
// what httpguts.ValidHeaderFieldName does (httpguts.IsTokenRune's test of
// each byte took a third more instructions).
func ValidName[T string | []byte](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !tchar[name[i]] {
			return false
		}
	}
	return true
}

// tchar is true for the bytes of a token: httpguts.IsTokenRune's verdict
// on each.
var tchar = func() (t [256]bool) {
	for c := range t {
		t[c] = httpguts.IsTokenRune(rune(c))
	}
	return t
}()

// notValue is 1 for the bytes ValidValue refuses: the controls (0x00–0x1f
// and DEL) except horizontal tab.
var notValue = func() (t [256]uint8) {
	for c := range t {
		if (c < ' ' && c != '\t') || c == 0x7f {
			t[c] = 1
		}
	}
	return t
}()

// ValidValueByte reports whether c may be in a header field value: it is
// ValidValue's verdict on one byte, for those that drop the bytes a value
// may not hold rather than refuse the value, or name the first of them.
func ValidValueByte(c byte) bool { return notValue[c] == 0 }

// ValidValue reports whether v may be a header field value: it refuses
// exactly what httpguts.ValidHeaderFieldValue refuses (and Go's transport
// will not send), the control bytes other than tab: CR and LF above all,
// which would end the field and let a value inject headers, NUL, the other
// C0 controls and DEL. Tab, space, visible ASCII and obs-text (0x80–0xff)
// pass; so does the empty value.
//
// It reads eight bytes at a time: every request's values pass here, a
// bearer token's hundreds of bytes included, and the byte-wise loop took
// about ten instructions a byte. A word is let through only if none of its
// bytes is below 0x20 or DEL (the two tests are exact as yes/no: a borrow
// can only start at such a byte); from the first word that may hold one, a
// tab (allowed) or a control, the table decides byte by byte.
func ValidValue(v string) bool {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8] // one bounds check; the compiler makes one load of it
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		del := x ^ (0x7f * ones) // a zero byte where x has DEL
		if ((x-0x20*ones)&^x|(del-ones)&^del)&highs != 0 {
			break
		}
	}
	var bad uint8
	for ; i < len(v); i++ {
		bad |= notValue[v[i]]
	}
	return bad == 0
}
