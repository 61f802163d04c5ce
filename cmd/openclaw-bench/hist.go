package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a lock-free log-linear latency histogram in nanoseconds:
// values below 128 ns are exact, above that each power of two is split in 64
// buckets (relative error below 1.6 %). Any goroutine may record.
const (
	histSub      = 64 // buckets per power of two
	histMaxShift = 40 // 2^46 ns ≈ 19 h: anything above lands in the last bucket
	histBuckets  = (histMaxShift + 2) * histSub
)

type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

func histIndex(v int64) int {
	if v < 2*histSub {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 7 // v>>shift in [64,128)
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histValue is the midpoint of bucket idx.
func histValue(idx int) int64 {
	if idx < 2*histSub {
		return int64(idx)
	}
	shift := idx/histSub - 1
	m := int64(idx%histSub + histSub)
	return m<<shift + (int64(1)<<shift)/2
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	h.counts[histIndex(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

func (h *histogram) count() uint64 { return h.n.Load() }

// quantile returns the q-quantile (0 < q ≤ 1), capped at the exact maximum.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	target := uint64(q * float64(n))
	if float64(target) < q*float64(n) {
		target++
	}
	if target == 0 {
		target = 1
	}
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		if cum >= target {
			v := histValue(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max.Load())
}

func (h *histogram) mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / int64(n))
}

func (h *histogram) maxDur() time.Duration { return time.Duration(h.max.Load()) }

// qms is the q-quantile in ms, or nil (JSON null) when nothing was recorded.
func (h *histogram) qms(q float64) any {
	if h.count() == 0 {
		return nil
	}
	return ms(h.quantile(q))
}

// maxms is the maximum in ms, or nil when nothing was recorded.
func (h *histogram) maxms() any {
	if h.count() == 0 {
		return nil
	}
	return ms(h.maxDur())
}
