package csv

import (
	"math"
	"time"
)

// Object times are stored as NT time: 100 ns intervals since 1601-01-01 UTC (MS-DTYP 2.3.3
// FILETIME), in an int64. That is the range SMB clients set (to the year 30828); Unix
// nanoseconds in an int64, the format before version 2, end in 2262, and a client setting a
// later date read back a wrapped one (smbtorture smb2.timestamps.time_t_10000000000).

const (
	stampsPerSecond = 10_000_000
	ntEpochUnix     = -11_644_473_600 // 1601-01-01 in Unix seconds
)

// stamp converts t to NT time, clamped to what an int64 holds.
func stamp(t time.Time) int64 {
	sec := t.Unix() - ntEpochUnix
	switch {
	case sec < 0:
		return 0
	case sec >= math.MaxInt64/stampsPerSecond:
		return math.MaxInt64
	}
	return sec*stampsPerSecond + int64(t.Nanosecond()/100)
}

// stampTime converts NT time back to a time.Time.
func stampTime(s int64) time.Time {
	return time.Unix(s/stampsPerSecond+ntEpochUnix, s%stampsPerSecond*100).UTC()
}
