package schema

//go:generate go run ./gen ../config ../../schema
