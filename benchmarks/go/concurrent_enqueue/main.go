// concurrent_enqueue: asynq v0.26's Client shared by G goroutines, each enqueueing its share of
// N tasks one by one (the peer of benchmarks/concurrent_enqueue.py). Prints one JSON line.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hibiken/asynq"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "Redis address")
	n := flag.Int("n", 20000, "tasks in all")
	g := flag.Int("g", 1, "goroutines sharing the client")
	queue := flag.String("queue", "default", "queue")
	flag.Parse()

	client := asynq.NewClient(asynq.RedisClientOpt{Addr: *addr, PoolSize: 10 * (*g + 1)})
	defer client.Close()
	// warm the connection pool and the script cache as the Python side does
	if _, err := client.Enqueue(asynq.NewTask("bench:warm", nil), asynq.Queue(*queue+"-warm")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	per := *n / *g
	var wg sync.WaitGroup
	errs := make(chan error, *g)
	start := time.Now()
	for w := 0; w < *g; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				payload, _ := json.Marshal(map[string]int{"i": w*per + i})
				if _, err := client.Enqueue(asynq.NewTask("bench:noop", payload), asynq.Queue(*queue)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]any{"goroutines": *g, "n": per * *g, "seconds": elapsed,
		"rate": float64(per**g) / elapsed})
	fmt.Println(string(out))
}
