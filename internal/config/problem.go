package config

import (
	"errors"
	"fmt"
	"strings"
)

// Problem is one thing wrong with a block of settings read from a
// configuration: Err says what, Field names the setting it is about as the
// configuration writes it, relative to the block ("audience[1]",
// "tls.cert_file", "users_file"; "" for the block itself). A package that
// validates settings returns its Problems, so that the caller, which knows
// where the block was written, reports each at its field (File.Place)
// rather than at the block.
type Problem struct {
	Field string
	Err   error
}

// Problems is every problem of a block, in the order found.
type Problems []Problem

// Add appends err at field; a nil err adds nothing.
func (ps *Problems) Add(field string, err error) {
	if err != nil {
		*ps = append(*ps, Problem{Field: field, Err: err})
	}
}

// Addf appends a problem at field whose message is formatted as
// fmt.Errorf formats it.
func (ps *Problems) Addf(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Err: fmt.Errorf(format, args...)})
}

// Err joins the problems' errors (errors.Join: one line each), nil when
// there are none: what a Validate method that has no file to place them in
// returns.
func (ps Problems) Err() error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p.Err
	}
	return errors.Join(errs...)
}

// Place files each of ps at its field of the block written at key path at
// ("authorizers.users"), each line of its error as its own Error (Lines).
// A field that was not written is reported at its key path with the place
// of the nearest enclosing value that was (Pos).
func (f *File) Place(at string, ps Problems) Errors {
	var out Errors
	for _, p := range ps {
		out = append(out, f.Lines(fieldPath(at, p.Field), p.Err)...)
	}
	return out
}

// fieldPath is the key path of field (relative, such as "audience[1]" or
// "[2]") inside the block at key path at.
func fieldPath(at, field string) string {
	switch {
	case field == "":
		return at
	case at == "" || strings.HasPrefix(field, "["):
		return at + field
	}
	return at + "." + field
}

// Plural is one when n is 1 and many otherwise, for a count written in
// words ("1 problem", "2 problems", "0 routes"): for the commands' and the
// explanations' counts.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
