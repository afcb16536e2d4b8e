package detect

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultMemoryLimit is the embedded store's query memory for a hunt when
// none is set: DuckDB's own default is 80 % of RAM, and its aggregates over
// 100 M records grow to use it (6 GiB RSS on the 100 M benchmark set).
const DefaultMemoryLimit = 1 << 30

// Budget bounds what the embedded store's query engine (DuckDB) uses for a
// hunt. Setup turns it into the statements of the reader's setup step, run
// before the reader's configuration is locked; the ClickHouse store has no
// such step and ignores them.
type Budget struct {
	// MemoryLimit caps DuckDB's buffer pool (hash tables, sorts, caches),
	// in bytes; 0 means DefaultMemoryLimit, a negative value DuckDB's own
	// default (80 % of RAM). Aggregates larger than it spill to TempDir.
	MemoryLimit int64
	// TempDir is where aggregates spill; it must lie inside the data
	// directory, the only one the sandboxed reader may touch. Empty keeps
	// DuckDB's default.
	TempDir string
	// Threads caps DuckDB's worker threads; 0 keeps its default (the CPU
	// count).
	Threads int
}

// Setup returns the SET statements of the budget.
func (b Budget) Setup() []string {
	var out []string
	switch limit := b.MemoryLimit; {
	case limit == 0:
		out = append(out, fmt.Sprintf("SET memory_limit = '%dKiB'", DefaultMemoryLimit>>10))
	case limit > 0:
		out = append(out, fmt.Sprintf("SET memory_limit = '%dKiB'", max(limit>>10, 1)))
	}
	if b.TempDir != "" {
		out = append(out, "SET temp_directory = '"+strings.ReplaceAll(b.TempDir, "'", "''")+"'")
	}
	if b.Threads > 0 {
		out = append(out, "SET threads = "+strconv.Itoa(b.Threads))
	}
	return out
}

// passRecordsPerGiB is how many records' worth of groups one pass of a
// grouped DISTINCT aggregate may take per GiB of memory limit: at 100 M
// records brute_force's held 4 GiB in one pass, and four passes of 25 M
// records each ran within 1 GiB beside another detector.
const passRecordsPerGiB = 24 << 20

// PassRecords is the Config.PassRecords that fits a memory limit (as in
// Budget.MemoryLimit; a negative limit, DuckDB's default, gives 0: one
// pass).
func PassRecords(memoryLimit int64) int64 {
	switch {
	case memoryLimit < 0:
		return 0
	case memoryLimit == 0:
		memoryLimit = DefaultMemoryLimit
	}
	return max((memoryLimit>>20)*passRecordsPerGiB>>10, 1<<20)
}
