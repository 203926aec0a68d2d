package optim

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// blockSize is the number of elements one goroutine takes at a time: 256 KiB of each fp32
// stream, large enough that scheduling costs nothing next to the memory traffic and small
// enough that the cores finish together. Results never depend on it except through the
// summation order of GradNorm, which it fixes independently of the number of cores.
const blockSize = 1 << 16

// forBlocks calls fn(index, lo, hi) once for each block [lo, hi) of blockSize consecutive
// elements of [0, n) (the last block may be shorter), from up to GOMAXPROCS goroutines that
// take blocks in turn. It returns when every call has returned.
func forBlocks(n int, fn func(index, lo, hi int)) {
	blocks := (n + blockSize - 1) / blockSize
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if workers <= 1 {
		for b := range blocks {
			fn(b, b*blockSize, min(n, (b+1)*blockSize))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= blocks {
					return
				}
				fn(b, b*blockSize, min(n, (b+1)*blockSize))
			}
		})
	}
	wg.Wait()
}
