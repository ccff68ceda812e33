// enqueue enqueues -n tasks through asynq.Client with the given options and prints one JSON line
// (the returned TaskInfo) per task, or {"error": ...} per failed enqueue.
package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"dmqinterop/internal/common"
)

type headerFlags map[string]string

func (h headerFlags) String() string { return fmt.Sprint(map[string]string(h)) }
func (h headerFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("header must be k=v, got %q", v)
	}
	h[k] = val
	return nil
}

func main() {
	conn := common.RedisFlags()
	typ := flag.String("type", "interop:task", "task type")
	payload := flag.String("payload", "", "payload text; {i} is replaced by the task index")
	nilPayload := flag.Bool("nil-payload", false, "send a nil payload")
	n := flag.Int("n", 1, "number of tasks")
	id := flag.String("id", "", "task id (with -n > 1: <id>-<i>)")
	queue := flag.String("queue", "", "queue")
	retry := flag.Int("retry", -1, "MaxRetry (-1 = not given)")
	timeout := flag.Duration("timeout", 0, "Timeout")
	deadline := flag.Int64("deadline", 0, "Deadline, Unix seconds")
	unique := flag.Duration("unique", 0, "Unique TTL")
	processIn := flag.Duration("process-in", 0, "ProcessIn")
	processAt := flag.Int64("process-at", 0, "ProcessAt, Unix seconds")
	retention := flag.Duration("retention", 0, "Retention")
	group := flag.String("group", "", "Group")
	headers := headerFlags{}
	flag.Var(headers, "header", "k=v header (repeatable)")
	flag.Parse()

	client := asynq.NewClient(conn())
	defer client.Close()
	for i := 0; i < *n; i++ {
		var opts []asynq.Option
		if *queue != "" {
			opts = append(opts, asynq.Queue(*queue))
		}
		if *retry >= 0 {
			opts = append(opts, asynq.MaxRetry(*retry))
		}
		if *timeout != 0 {
			opts = append(opts, asynq.Timeout(*timeout))
		}
		if *deadline != 0 {
			opts = append(opts, asynq.Deadline(time.Unix(*deadline, 0)))
		}
		if *unique != 0 {
			opts = append(opts, asynq.Unique(*unique))
		}
		if *processIn != 0 {
			opts = append(opts, asynq.ProcessIn(*processIn))
		}
		if *processAt != 0 {
			opts = append(opts, asynq.ProcessAt(time.Unix(*processAt, 0)))
		}
		if *retention != 0 {
			opts = append(opts, asynq.Retention(*retention))
		}
		if *group != "" {
			opts = append(opts, asynq.Group(*group))
		}
		if *id != "" {
			tid := *id
			if *n > 1 {
				tid = fmt.Sprintf("%s-%d", *id, i)
			}
			opts = append(opts, asynq.TaskID(tid))
		}
		var body []byte
		if !*nilPayload {
			body = []byte(strings.ReplaceAll(*payload, "{i}", fmt.Sprint(i)))
		}
		var task *asynq.Task
		if len(headers) > 0 {
			task = asynq.NewTaskWithHeaders(*typ, body, headers)
		} else {
			task = asynq.NewTask(*typ, body)
		}
		info, err := client.Enqueue(task, opts...)
		if err != nil {
			common.PrintJSON(map[string]string{"error": err.Error()})
			continue
		}
		common.PrintJSON(common.FromInfo(info))
	}
}
