package jwtauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxJSONDepth bounds how deeply the header and the claims may nest objects
// and arrays. Real tokens nest a handful of levels; backends' JSON libraries
// have limits of their own (Ruby's default is 100), so a token we accept
// must not be one they cannot read.
const maxJSONDepth = 64

var (
	errRepeatedMember = errors.New("a JSON member name is repeated")
	errTooDeep        = errors.New("JSON nested too deeply")
	errTrailingData   = errors.New("data after the JSON value")
	errNotJSON        = errors.New("not valid JSON")
)

// checkJSONMembers reads data as one JSON value and fails if any object in it
// repeats a member name (compared after unescaping, so "\u0061lg" repeats
// "alg"), nests deeper than maxJSONDepth, or if anything but whitespace
// follows the value. RFC 7515 §4 and RFC 7519 §4 let a parser reject
// duplicates or take the last one; Go takes the last, others take the first,
// so a token with duplicates could mean one thing here and another in the
// backend. We reject it. Cold path only: this allocates per member.
//
// The errors name no member and quote nothing from data.
func checkJSONMembers(data []byte) error {
	type frame struct {
		obj     int  // object number (index into the seen set), -1 for arrays
		wantKey bool // in an object, the next token is a member name or '}'
	}
	type member struct {
		obj  int
		name string
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers stay text: 1e400 is not an error here
	var (
		stack []frame
		seen  map[member]struct{}
		objs  int
	)
	for {
		tok, err := dec.Token()
		if err != nil { // io.EOF too: empty or truncated input
			return errNotJSON
		}
		top := len(stack) - 1
		if top >= 0 && stack[top].obj >= 0 && stack[top].wantKey {
			switch t := tok.(type) {
			case string:
				if seen == nil {
					seen = make(map[member]struct{}, 16)
				}
				m := member{stack[top].obj, t}
				if _, dup := seen[m]; dup {
					return errRepeatedMember
				}
				seen[m] = struct{}{}
				stack[top].wantKey = false
				continue
			case json.Delim: // '}': Token has checked it is allowed here
				stack = stack[:top]
			default:
				return errNotJSON
			}
		} else {
			// A value, or the end of an array.
			if top >= 0 && stack[top].obj >= 0 {
				stack[top].wantKey = true
			}
			switch tok {
			case json.Delim('{'):
				if len(stack) >= maxJSONDepth {
					return errTooDeep
				}
				stack = append(stack, frame{obj: objs, wantKey: true})
				objs++
			case json.Delim('['):
				if len(stack) >= maxJSONDepth {
					return errTooDeep
				}
				stack = append(stack, frame{obj: -1})
			case json.Delim(']'):
				stack = stack[:top]
			}
		}
		if len(stack) == 0 {
			break
		}
	}
	// Exactly one value: golang-jwt's claims decoder stops after the first
	// and would ignore whatever follows.
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}
