// Package httpheader checks HTTP header field values. It is the one check
// of a value the gateway sends or relays (the proxy's request to a backend,
// headers set by parameter mapping, a Lambda proxy function's response
// headers), so that all of them refuse the same bytes.
package httpheader

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
