package store

import (
	"math/big"
	"strconv"
	"time"
)

// Int64 converts a value scanned from Rows into an int64, whatever type the
// backend returned it as: DuckDB gives sized integers, *big.Int for HUGEINT
// and time.Time for timestamps; ClickHouse's JSON gives 64-bit integers as
// strings. Anything else (NULL included) is 0.
func Int64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	case int16:
		return int64(n)
	case int8:
		return int64(n)
	case uint64:
		return int64(n)
	case uint32:
		return int64(n)
	case uint16:
		return int64(n)
	case uint8:
		return int64(n)
	case float64:
		return int64(n)
	case float32:
		return int64(n)
	case *big.Int:
		return n.Int64()
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	case []byte:
		i, _ := strconv.ParseInt(string(n), 10, 64)
		return i
	case time.Time:
		return n.Unix()
	}
	return 0
}

// Float64 converts a value scanned from Rows into a float64, as Int64 does.
func Float64(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case float32:
		return float64(n)
	case string:
		f, _ := strconv.ParseFloat(n, 64)
		return f
	case *big.Int:
		f, _ := new(big.Float).SetInt(n).Float64()
		return f
	}
	return float64(Int64(v))
}
