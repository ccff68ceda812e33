// Command go_asynq_peer is Go asynq v0.26 as a peer of benchmarks/run_peers.py: it speaks the
// command line of benchmarks/peers/_common.py (enqueue / worker CONFIG / info, Redis from
// BENCH_REDIS_URL) and records completions through the same bench:* keys.
//
//	go_asynq_peer enqueue --n N --prefix P --kind noop|sleep --mode one|goroutines --producers K --gap S
//	go_asynq_peer worker c10|c50|c100
//	go_asynq_peer info
//
// The task is the one dmq's peer enqueues: type bench:noop or bench:sleep, JSON payload
// {"id": ..., "ts": enqueue time in Unix seconds}, queue "default", asynq's default options.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

const sleepFor = time.Millisecond

var types = map[string]string{"noop": "bench:noop", "sleep": "bench:sleep"}

// workers maps a configuration name to the server's concurrency (one asynq.Server per process).
var workers = map[string]int{"c10": 10, "c50": 50, "c100": 100}

type payload struct {
	ID string  `json:"id"`
	TS float64 `json:"ts"`
}

func redisURL() string {
	if u := os.Getenv("BENCH_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func connOpt() asynq.RedisConnOpt {
	opt, err := asynq.ParseRedisURI(redisURL())
	if err != nil {
		fail("bad BENCH_REDIS_URL: %v", err)
	}
	return opt
}

func newTask(id, kind string) *asynq.Task {
	body, _ := json.Marshal(payload{ID: id, TS: unixSeconds(time.Now())})
	return asynq.NewTask(types[kind], body)
}

// produce enqueues ids[i] for i = start, start+step, ... one call each.
func produce(c *asynq.Client, prefix, kind string, n, start, step int, gap time.Duration) error {
	for i := start; i < n; i += step {
		if _, err := c.Enqueue(newTask(prefix+strconv.Itoa(i), kind)); err != nil {
			return err
		}
		if gap > 0 {
			time.Sleep(gap)
		}
	}
	return nil
}

func enqueue(args []string) {
	fs := flag.NewFlagSet("enqueue", flag.ExitOnError)
	n := fs.Int("n", 0, "tasks to enqueue")
	prefix := fs.String("prefix", "t", "task id prefix")
	kind := fs.String("kind", "noop", "noop or sleep")
	mode := fs.String("mode", "one", "one (one by one) or goroutines (--producers goroutines sharing one client)")
	producers := fs.Int("producers", 1, "concurrent producers (mode goroutines)")
	gap := fs.Float64("gap", 0, "seconds to sleep after each enqueue")
	_ = fs.Parse(args)
	if _, ok := types[*kind]; !ok {
		fail("unknown kind %q", *kind)
	}
	k := 1
	switch *mode {
	case "one":
	case "goroutines":
		k = max(1, *producers)
	default:
		fail("this peer has no %s enqueue", *mode)
	}
	client := asynq.NewClient(connOpt())
	defer client.Close()
	pause := time.Duration(*gap * float64(time.Second))
	t0 := time.Now()
	errs := make([]error, k)
	var wg sync.WaitGroup
	for p := 0; p < k; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			errs[p] = produce(client, *prefix, *kind, *n, p, k, pause)
		}(p)
	}
	wg.Wait()
	seconds := time.Since(t0).Seconds()
	for _, err := range errs {
		if err != nil {
			fail("enqueue: %v", err)
		}
	}
	out, _ := json.Marshal(map[string]any{"seconds": seconds, "n": *n})
	fmt.Println(string(out))
}

func handler(rec *recorder, sleep bool) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		started := unixSeconds(time.Now())
		if sleep {
			time.Sleep(sleepFor)
		}
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return err
		}
		rec.add(p.ID, p.TS, started)
		return nil
	}
}

func worker(args []string) {
	if len(args) != 1 {
		fail("usage: worker CONFIG (one of %s)", strings.Join(configNames(), ", "))
	}
	concurrency, ok := workers[args[0]]
	if !ok {
		fail("unknown worker config %q (one of %s)", args[0], strings.Join(configNames(), ", "))
	}
	rec, err := newRecorder(redisURL())
	if err != nil {
		fail("recorder: %v", err)
	}
	mux := asynq.NewServeMux()
	mux.Handle("bench:noop", handler(rec, false))
	mux.Handle("bench:sleep", handler(rec, true))
	srv := asynq.NewServer(connOpt(), asynq.Config{
		Concurrency: concurrency, Queues: map[string]int{"default": 1}, LogLevel: asynq.WarnLevel,
		ShutdownTimeout: 2 * time.Second,
	})
	if err := srv.Run(mux); err != nil { // returns after SIGTERM/SIGINT, once the server shut down
		fail("server: %v", err)
	}
	if err := rec.flush(); err != nil {
		fail("final flush: %v", err)
	}
}

func configNames() []string {
	names := make([]string, 0, len(workers))
	for name := range workers {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: go_asynq_peer enqueue|worker|info ...")
	}
	switch os.Args[1] {
	case "enqueue":
		enqueue(os.Args[2:])
	case "worker":
		worker(os.Args[2:])
	case "info":
		out, _ := json.Marshal(map[string]any{"batch": false, "workers": configNames(),
			"modes": []string{"one", "goroutines"}, "unavailable": map[string]string{}})
		fmt.Println(string(out))
	default:
		fail("unknown command %q", os.Args[1])
	}
}
