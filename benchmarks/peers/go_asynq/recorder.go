package main

// The Go side of benchmarks/peers/_common.py's recorder: handlers note each task's id, start time
// and pickup latency in a buffer that a goroutine flushes every 5 ms to the same bench:* keys
// (bench:done ids, bench:spans "first last count", bench:lat seconds), so the harness checks
// and measures the Go peer exactly as it does the Python peers.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	keyDone    = "bench:done"
	keySpans   = "bench:spans"
	keyLat     = "bench:lat"
	flushEvery = 5 * time.Millisecond
)

type recorder struct {
	client      *redis.Client
	mu          sync.Mutex
	ids         []any
	lats        []any
	first, last float64
}

func newRecorder(url string) (*recorder, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rec := &recorder{client: redis.NewClient(opt)}
	go func() {
		for {
			time.Sleep(flushEvery)
			if err := rec.flush(); err != nil {
				fmt.Fprintf(os.Stderr, "bench recorder: %v\n", err)
			}
		}
	}()
	return rec, nil
}

// unixSeconds is time.Time as Python's time.time().
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e9
}

func (r *recorder) add(id string, enqueuedAt, started float64) {
	r.mu.Lock()
	if len(r.ids) == 0 {
		r.first = started
	}
	r.last = started
	r.ids = append(r.ids, id)
	if enqueuedAt > 0 {
		r.lats = append(r.lats, strconv.FormatFloat(started-enqueuedAt, 'f', -1, 64))
	}
	r.mu.Unlock()
}

func (r *recorder) flush() error {
	r.mu.Lock()
	if len(r.ids) == 0 {
		r.mu.Unlock()
		return nil
	}
	ids, lats, first, last := r.ids, r.lats, r.first, r.last
	r.ids, r.lats = nil, nil
	r.mu.Unlock()
	ctx := context.Background()
	pipe := r.client.Pipeline()
	pipe.RPush(ctx, keyDone, ids...)
	pipe.RPush(ctx, keySpans, fmt.Sprintf("%s %s %d", strconv.FormatFloat(first, 'f', -1, 64),
		strconv.FormatFloat(last, 'f', -1, 64), len(ids)))
	if len(lats) > 0 {
		pipe.RPush(ctx, keyLat, lats...)
	}
	_, err := pipe.Exec(ctx)
	return err
}
