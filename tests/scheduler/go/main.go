// Cross-checks dmq's scheduler against asynq v0.26 and robfig/cron v3 (the parser asynq uses).
//
//	go run . next <unix-seconds> <spec>...   -> one JSON line per spec: next 5 fire times or an error
//	go run . entries <redis-addr>            -> JSON of asynq Inspector.SchedulerEntries()
//	go run . history <redis-addr> <entry-id> -> JSON of Inspector.ListSchedulerEnqueueEvents()
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
)

func main() {
	enc := json.NewEncoder(os.Stdout)
	switch os.Args[1] {
	case "next":
		sec, _ := strconv.ParseInt(os.Args[2], 10, 64)
		start := time.Unix(sec, 0).UTC()
		parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
		for _, spec := range os.Args[3:] {
			sched, err := parser.Parse(spec)
			if err != nil {
				enc.Encode(map[string]any{"spec": spec, "error": err.Error()})
				continue
			}
			var times []int64
			t := start
			for i := 0; i < 5; i++ {
				t = sched.Next(t)
				times = append(times, t.Unix())
			}
			enc.Encode(map[string]any{"spec": spec, "next": times})
		}
	case "entries":
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: os.Args[2]})
		entries, err := insp.SchedulerEntries()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var out []map[string]any
		for _, e := range entries {
			var opts []string
			for _, o := range e.Opts {
				opts = append(opts, o.String())
			}
			out = append(out, map[string]any{"id": e.ID, "spec": e.Spec, "type": e.Task.Type(),
				"payload": string(e.Task.Payload()), "opts": opts, "next": e.Next.Unix(),
				"prev_zero": e.Prev.IsZero()})
		}
		enc.Encode(out)
	case "history":
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: os.Args[2]})
		events, err := insp.ListSchedulerEnqueueEvents(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		var out []map[string]any
		for _, ev := range events {
			out = append(out, map[string]any{"task_id": ev.TaskID, "at": ev.EnqueuedAt.Unix()})
		}
		enc.Encode(out)
	}
}
