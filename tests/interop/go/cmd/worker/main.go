// worker runs an asynq.Server on the given queues until -expect tasks were handled or -duration
// passed, printing one JSON line per handled task. Types listed in -fail return an error
// (so the task goes to retry/archive); with -result the handler writes a result.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"dmqinterop/internal/common"
)

type handled struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	PayloadB64 string            `json:"payload_b64"`
	Headers    map[string]string `json:"headers"`
	Queue      string            `json:"queue"`
	RetryCount int               `json:"retry_count"`
	MaxRetry   int               `json:"max_retry"`
	Failed     bool              `json:"failed"`
}

func main() {
	conn := common.RedisFlags()
	queues := flag.String("queues", "default", "comma-separated queue names")
	duration := flag.Duration("duration", 20*time.Second, "stop after this long")
	expect := flag.Int("expect", 0, "stop after this many tasks (0 = run for -duration)")
	fail := flag.String("fail", "", "comma-separated task types whose handler returns an error")
	result := flag.Bool("result", false, "write a result ('done:<id>') for each task")
	flag.Parse()

	qs := map[string]int{}
	for _, q := range strings.Split(*queues, ",") {
		qs[q] = 1
	}
	failing := map[string]bool{}
	for _, t := range strings.Split(*fail, ",") {
		if t != "" {
			failing[t] = true
		}
	}
	srv := asynq.NewServer(conn(), asynq.Config{
		Concurrency: 4, Queues: qs, LogLevel: asynq.WarnLevel,
		TaskCheckInterval: 100 * time.Millisecond, DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout: 2 * time.Second,
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return time.Hour },
	})
	var mu sync.Mutex
	count := 0
	done := make(chan struct{})
	handler := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		q, _ := asynq.GetQueueName(ctx)
		rc, _ := asynq.GetRetryCount(ctx)
		mr, _ := asynq.GetMaxRetry(ctx)
		if *result {
			if _, err := t.ResultWriter().Write([]byte("done:" + id)); err != nil {
				return err
			}
		}
		headers := t.Headers()
		if headers == nil {
			headers = map[string]string{}
		}
		mu.Lock()
		common.PrintJSON(handled{id, t.Type(), base64.StdEncoding.EncodeToString(t.Payload()), headers, q, rc,
			mr, failing[t.Type()]})
		count++
		if *expect > 0 && count == *expect {
			close(done)
		}
		mu.Unlock()
		if failing[t.Type()] {
			return asynq.SkipRetry
		}
		return nil
	})
	if err := srv.Start(handler); err != nil {
		common.Die(err)
	}
	select {
	case <-done:
	case <-time.After(*duration):
	}
	srv.Shutdown()
}
