// Package querytest runs internal/query against a real DuckDB: golden
// results of the seed, Athena and Insights queries on a hand-written
// fixture, and the sandbox escape attempts on a connection locked like the
// store's Reader. It is separate so internal/query stays pure Go.
package querytest
