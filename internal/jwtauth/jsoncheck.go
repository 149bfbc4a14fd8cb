package jwtauth

import (
	"cmp"
	"errors"
	"slices"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds how deeply the header and the claims may nest objects
// and arrays. Real tokens nest a handful of levels; backends' JSON libraries
// have limits of their own (Ruby's default is 100), so a token we accept
// must not be one they cannot read.
const maxJSONDepth = 64

// maxSyntaxDepth is encoding/json's own nesting limit. Deeper input is a
// syntax error there, and so here: such a payload used to be refused by
// golang-jwt's decoder before the signature was checked, and still is.
const maxSyntaxDepth = 10000

var (
	errRepeatedMember = errors.New("a JSON member name is repeated (names are compared ignoring case)")
	errTooDeep        = errors.New("JSON nested too deeply")
	errTrailingData   = errors.New("data after the JSON value")
)

// jsonMember is a member name the scanner keeps: those of the objects still
// open, for the duplicate check when each closes, and after the scan those
// of the top-level object, with their values. Offsets, not slices, so that
// the scanner holds no pointer into the (often stack-allocated) input.
type jsonMember struct {
	key      int32  // offset of the name's opening quote: orders the errors
	lo, hi   int32  // the decoded name: data[lo:hi], or esc[lo:hi] if escaped
	vlo, vhi int32  // top-level members: the value's JSON text, data[vlo:vhi]
	fold     uint32 // foldHash of the decoded name
	escaped  bool
}

// inlineMembers covers every object of ordinary tokens without allocating.
const inlineMembers = 32

// jsonScan validates one JSON text and checks what encoding/json does not:
// no object repeats a member name, nothing nests deeper than maxJSONDepth,
// nothing but whitespace follows the value. RFC 7515 §4 and RFC 7519 §4 let
// a parser reject duplicates or take the last one; Go takes the last, others
// take the first, so a token with duplicates could mean one thing here and
// another in the backend. We reject it.
//
// Names are compared after unescaping ("\u0061lg" repeats "alg") and
// ignoring case, as foldEqual does: encoding/json fills a struct field from
// any case variant of its name (the last one present), and so do typed
// models elsewhere, so {"sub":"a","Sub":"b"} is sub "a" to a map and "b" to
// golang-jwt's RegisteredClaims. The gateway reads names exactly; with no
// two names equal ignoring case, every reader finds the same members.
//
// It is hand-written because encoding/json has no duplicate detection and
// its token API allocates per token (it was most of the cold path's
// allocations); one pass of this scanner also collects the top-level
// members, so header and claims are read in place instead of being decoded
// a second time. Accepted syntax, string unescaping (invalid UTF-8 and lone
// surrogates become U+FFFD) and the nesting limit are encoding/json's; the
// fuzz tests hold it to that.
//
// The zero value is ready; a jsonScan is meant to live on the caller's
// stack, which is why the input is passed to each method rather than kept.
type jsonScan struct {
	end    int   // offset just past the first value
	top    byte  // first byte of the first value
	semPos int   // offset of the first repeated name or too-deep container
	semErr error // errRepeatedMember or errTooDeep, nil if semPos < 0

	n      int // members kept: inline, then spill
	inline [inlineMembers]jsonMember
	spill  []jsonMember
	esc    []byte       // names that needed unescaping, decoded
	sorted []jsonMember // scratch for the duplicate check of large objects

	// Per open object at depth 1..maxJSONDepth: its first member and the
	// length of esc before its names. Deeper objects keep no names: the
	// depth error precedes all of them.
	first  [maxJSONDepth + 1]int32
	escLen [maxJSONDepth + 1]int32
	isObj  [maxSyntaxDepth/64 + 1]uint64 // bit d: the container at depth d is an object
}

// scan reads the first JSON value of data and reports whether it is valid
// (false also when there is none). Afterwards semErr holds the first
// repeated name or too-deep container in document order, end is where the
// value ended, trailing reports data after it, and, when top is '{',
// members, value, claimAt and registered read the top-level members.
func (s *jsonScan) scan(data []byte) bool {
	s.end, s.top, s.semPos, s.semErr, s.n, s.esc = 0, 0, -1, nil, 0, s.esc[:0]
	if len(data) > 1<<30 {
		return false // offsets are int32; tokens are 16 KiB at most
	}
	i := skipSpace(data, 0)
	if i == len(data) {
		return false
	}
	s.top = data[i]
	depth := 0
	cur := -1 // the top-level member whose value is being read, if kept
	var ok bool
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '{', '[':
			depth++
			if depth > maxSyntaxDepth {
				return false
			}
			if depth > maxJSONDepth {
				s.fail(i, errTooDeep)
			}
			obj := c == '{'
			s.setObj(depth, obj)
			i = skipSpace(data, i+1)
			if obj {
				if depth <= maxJSONDepth {
					s.first[depth], s.escLen[depth] = int32(s.n), int32(len(s.esc))
				}
				if i < len(data) && data[i] == '}' {
					i++
					depth--
					break
				}
				if i, ok = s.member(data, i, depth, &cur); !ok {
					return false
				}
				continue
			}
			if i < len(data) && data[i] == ']' {
				i++
				depth--
				break
			}
			continue
		case '"':
			if i, _, ok = scanString(data, i); !ok {
				return false
			}
		case 't':
			if i, ok = scanLiteral(data, i, "true"); !ok {
				return false
			}
		case 'f':
			if i, ok = scanLiteral(data, i, "false"); !ok {
				return false
			}
		case 'n':
			if i, ok = scanLiteral(data, i, "null"); !ok {
				return false
			}
		default:
			if i, ok = scanNumber(data, i); !ok {
				return false
			}
		}
		// A value ended at i; close containers until one continues.
		for {
			if depth == 0 {
				s.end = i
				return true
			}
			if depth == 1 && cur >= 0 {
				s.at(cur).vhi = int32(i)
				cur = -1
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return false
			}
			c := data[i]
			if s.obj(depth) {
				if c == ',' {
					if i, ok = s.member(data, skipSpace(data, i+1), depth, &cur); !ok {
						return false
					}
					break
				}
				if c != '}' {
					return false
				}
				if depth <= maxJSONDepth {
					s.checkDuplicates(data, int(s.first[depth]))
					if depth > 1 {
						s.n, s.esc = int(s.first[depth]), s.esc[:s.escLen[depth]]
					}
				}
			} else {
				if c == ',' {
					i = skipSpace(data, i+1)
					break
				}
				if c != ']' {
					return false
				}
			}
			i++
			depth--
		}
	}
}

// trailing reports whether anything but whitespace follows the first value.
func (s *jsonScan) trailing(data []byte) bool {
	return skipSpace(data, s.end) != len(data)
}

// member reads a member name at data[i], the colon and the whitespace after
// it, and keeps the name unless an error has already been found (no later
// repeat can come first). At depth 1, *cur becomes the index of the kept
// member, whose value starts at next, or -1.
func (s *jsonScan) member(data []byte, i, depth int, cur *int) (next int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false
	}
	end, plain, ok := scanString(data, i)
	if !ok {
		return 0, false
	}
	next = skipSpace(data, end)
	if next >= len(data) || data[next] != ':' {
		return 0, false
	}
	next = skipSpace(data, next+1)
	if depth == 1 {
		*cur = -1
	}
	if s.semPos >= 0 {
		return next, true
	}
	m := jsonMember{key: int32(i), lo: int32(i + 1), hi: int32(end - 1), vlo: int32(next)}
	if !plain {
		lo := len(s.esc)
		s.esc = appendUnquoted(s.esc, data[i+1:end-1])
		m.lo, m.hi, m.escaped = int32(lo), int32(len(s.esc)), true
	}
	m.fold = foldHash(s.name(data, &m))
	if s.n < inlineMembers {
		s.inline[s.n] = m
	} else if k := s.n - inlineMembers; k < len(s.spill) {
		s.spill[k] = m
	} else {
		s.spill = append(s.spill, m)
	}
	s.n++
	if depth == 1 {
		*cur = s.n - 1
	}
	return next, true
}

// at returns kept member i.
func (s *jsonScan) at(i int) *jsonMember {
	if i < inlineMembers {
		return &s.inline[i]
	}
	return &s.spill[i-inlineMembers]
}

// name is member m's decoded name.
func (s *jsonScan) name(data []byte, m *jsonMember) []byte {
	if m.escaped {
		return s.esc[m.lo:m.hi]
	}
	return data[m.lo:m.hi]
}

// members is the number of top-level members (0 unless the value is an
// object and no error was found).
func (s *jsonScan) members() int {
	if s.top != '{' || s.semPos >= 0 {
		return 0
	}
	return s.n
}

// value returns the JSON text of the top-level member called name.
func (s *jsonScan) value(data []byte, name string) ([]byte, bool) {
	for i := range s.members() {
		m := s.at(i)
		if string(s.name(data, m)) == name {
			return data[m.vlo:m.vhi], true
		}
	}
	return nil, false
}

// fail records err at offset pos if it precedes the error found so far:
// the result is the first error in document order, as a streaming check
// would report it, although repeats are only found when an object closes.
func (s *jsonScan) fail(pos int, err error) {
	if s.semPos < 0 || pos < s.semPos {
		s.semPos, s.semErr = pos, err
	}
}

func (s *jsonScan) setObj(depth int, obj bool) {
	w, b := depth/64, uint64(1)<<(depth%64)
	if obj {
		s.isObj[w] |= b
	} else {
		s.isObj[w] &^= b
	}
}

func (s *jsonScan) obj(depth int) bool { return s.isObj[depth/64]&(1<<(depth%64)) != 0 }

// pairwiseMax is the object size up to which repeats are found by comparing
// every pair; larger objects are sorted, so that a 16 KiB header of distinct
// names costs O(n log n), not O(n²).
const pairwiseMax = 16

// checkDuplicates records the first name, among the members from index lo
// to the last, that equals an earlier one under foldEqual.
func (s *jsonScan) checkDuplicates(data []byte, lo int) {
	hi := s.n
	if hi-lo <= pairwiseMax {
		for j := lo + 1; j < hi; j++ {
			mj := s.at(j)
			for i := lo; i < j; i++ {
				if mi := s.at(i); mi.fold == mj.fold && foldEqual(s.name(data, mi), s.name(data, mj)) {
					s.fail(int(mj.key), errRepeatedMember)
					return // later j are later in the document
				}
			}
		}
		return
	}
	s.sorted = s.sorted[:0]
	for i := lo; i < hi; i++ {
		s.sorted = append(s.sorted, *s.at(i))
	}
	slices.SortFunc(s.sorted, func(a, b jsonMember) int {
		if c := cmp.Compare(a.fold, b.fold); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	// Equal names hash alike, so they are in one run of equal hashes, in
	// document order; a member equal to an earlier one in its run repeats it.
	for k := 1; k < len(s.sorted); k++ {
		mk := &s.sorted[k]
		for j := k - 1; j >= 0 && s.sorted[j].fold == mk.fold; j-- {
			if foldEqual(s.name(data, &s.sorted[j]), s.name(data, mk)) {
				s.fail(int(mk.key), errRepeatedMember)
				break
			}
		}
	}
}

// foldEqual reports whether two decoded member names are one name to a
// case-insensitive reader: equal rune by rune under foldRune. That is
// encoding/json's matching of names to struct fields (bytes.EqualFold:
// Unicode simple folding, so "ſub" is "sub" and "\u212aid" is "kid"), and
// also Java's equalsIgnoreCase (upper- or lower-casing makes them equal, which
// adds ı and İ to i). Multi-rune foldings (ß and ss) are not matched: no
// common JSON library applies them to names.
func foldEqual(a, b []byte) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if ca, cb := a[i], b[j]; ca|cb < utf8.RuneSelf {
			if ca != cb && upperASCII(ca) != upperASCII(cb) {
				return false
			}
			i, j = i+1, j+1
			continue
		}
		ra, na := utf8.DecodeRune(a[i:])
		rb, nb := utf8.DecodeRune(b[j:])
		if ra != rb && foldRune(ra) != foldRune(rb) {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

// foldHash hashes a decoded member name so that names equal under foldEqual
// hash alike (FNV-1a over the folded runes): the duplicate check compares
// names only when their hashes agree.
func foldHash(name []byte) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); {
		r := rune(name[i])
		if r < utf8.RuneSelf {
			r = rune(upperASCII(byte(r)))
			i++
		} else {
			var size int
			r, size = utf8.DecodeRune(name[i:])
			r = foldRune(r)
			i += size
		}
		h = (h ^ uint32(r)) * 16777619
	}
	return h
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// foldRune maps r to one rune of its case-insensitive class: the smallest
// rune of its Unicode simple-fold orbit, as encoding/json folds names (so
// every ASCII letter to its upper case, the Kelvin sign to K, ſ to S), and
// ı (U+0131) and İ (U+0130), which upper- and lower-casing turn into I and
// i, to I. TestFoldRuneAllRunes checks every rune.
func foldRune(r rune) rune {
	if r == '\u0130' || r == '\u0131' {
		return 'I'
	}
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func skipSpace[T string | []byte](data T, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString reads the string literal at data[i] (a quote). plain means the
// text between the quotes is the decoded string: no escapes, valid UTF-8.
func scanString(data []byte, i int) (end int, plain, ok bool) {
	plain = true
	for j := i + 1; j < len(data); {
		c := data[j]
		switch {
		case c == '"':
			return j + 1, plain, true
		case c == '\\':
			plain = false
			if j+1 >= len(data) {
				return 0, false, false
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) || !isHex(data[j+5]) {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				plain = false
			}
			j += size
		}
	}
	return 0, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func scanLiteral(data []byte, i int, lit string) (int, bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanNumber reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) (int, bool) {
	if data[i] == '-' {
		i++
	}
	if i >= len(data) || !isDigit(data[i]) {
		return 0, false
	}
	if data[i] == '0' {
		i++
	} else {
		i = skipDigits(data, i)
	}
	if i < len(data) && data[i] == '.' {
		if i++; i >= len(data) || !isDigit(data[i]) {
			return 0, false
		}
		i = skipDigits(data, i)
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		if i++; i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return 0, false
		}
		i = skipDigits(data, i)
	}
	return i, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

// appendUnquoted appends the decoded form of the body of a valid string
// literal, exactly as encoding/json decodes it: invalid UTF-8 bytes and
// unpaired surrogate escapes become U+FFFD.
func appendUnquoted[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch s[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2 = hex4(s[i+2 : i+6])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // " \ /
				dst = append(dst, s[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			// At most four bytes: the conversion does not allocate.
			r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
			dst = utf8.AppendRune(dst, r)
			i += size
		}
	}
	return dst
}

// hex4 decodes four hexadecimal digits (already validated).
func hex4[T string | []byte](s T) rune {
	var r rune
	for i := range 4 {
		c := s[i]
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
