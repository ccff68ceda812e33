// inspect prints, as one JSON document, what asynq.Inspector sees in a queue: the queue list,
// GetQueueInfo, pending/scheduled/retry/archived/completed tasks, groups with their aggregating
// tasks, and GetTaskInfo for the ids given with -id.
package main

import (
	"flag"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"dmqinterop/internal/common"
)

type queueInfo struct {
	Queue          string `json:"queue"`
	Size           int    `json:"size"`
	Groups         int    `json:"groups"`
	Pending        int    `json:"pending"`
	Active         int    `json:"active"`
	Scheduled      int    `json:"scheduled"`
	Retry          int    `json:"retry"`
	Archived       int    `json:"archived"`
	Completed      int    `json:"completed"`
	Aggregating    int    `json:"aggregating"`
	Processed      int    `json:"processed"`
	Failed         int    `json:"failed"`
	ProcessedTotal int    `json:"processed_total"`
	FailedTotal    int    `json:"failed_total"`
	Paused         bool   `json:"paused"`
	LatencyMs      int64  `json:"latency_ms"`
	MemoryUsage    int64  `json:"memory_usage"`
}

type report struct {
	Queues      []string                 `json:"queues"`
	Info        *queueInfo               `json:"info"`
	Pending     []common.Task            `json:"pending"`
	Scheduled   []common.Task            `json:"scheduled"`
	Retry       []common.Task            `json:"retry"`
	Archived    []common.Task            `json:"archived"`
	Completed   []common.Task            `json:"completed"`
	Groups      map[string]int           `json:"groups"`
	Aggregating map[string][]common.Task `json:"aggregating"`
	Tasks       map[string]common.Task   `json:"tasks"`
	TaskErrors  map[string]string        `json:"task_errors"`
	Servers     []serverInfo             `json:"servers"`
}

type serverInfo struct {
	ID          string         `json:"id"`
	Host        string         `json:"host"`
	PID         int            `json:"pid"`
	Concurrency int            `json:"concurrency"`
	Queues      map[string]int `json:"queues"`
	Status      string         `json:"status"`
}

func main() {
	conn := common.RedisFlags()
	queue := flag.String("queue", "default", "queue to inspect")
	ids := flag.String("id", "", "comma-separated task ids for GetTaskInfo")
	flag.Parse()

	insp := asynq.NewInspector(conn())
	defer insp.Close()
	rep := report{Groups: map[string]int{}, Aggregating: map[string][]common.Task{},
		Tasks: map[string]common.Task{}, TaskErrors: map[string]string{}}
	var err error
	if rep.Queues, err = insp.Queues(); err != nil {
		common.Die(err)
	}
	qi, err := insp.GetQueueInfo(*queue)
	if err != nil {
		common.Die(err)
	}
	rep.Info = &queueInfo{qi.Queue, qi.Size, qi.Groups, qi.Pending, qi.Active, qi.Scheduled, qi.Retry,
		qi.Archived, qi.Completed, qi.Aggregating, qi.Processed, qi.Failed, qi.ProcessedTotal,
		qi.FailedTotal, qi.Paused, int64(qi.Latency / time.Millisecond), qi.MemoryUsage}
	page := asynq.PageSize(1000)
	lists := []struct {
		dst *[]common.Task
		fn  func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
	}{
		{&rep.Pending, insp.ListPendingTasks}, {&rep.Scheduled, insp.ListScheduledTasks},
		{&rep.Retry, insp.ListRetryTasks}, {&rep.Archived, insp.ListArchivedTasks},
		{&rep.Completed, insp.ListCompletedTasks},
	}
	for _, l := range lists {
		ts, err := l.fn(*queue, page)
		if err != nil {
			common.Die(err)
		}
		*l.dst = common.Tasks(ts)
	}
	groups, err := insp.Groups(*queue)
	if err != nil {
		common.Die(err)
	}
	for _, g := range groups {
		rep.Groups[g.Group] = g.Size
		ts, err := insp.ListAggregatingTasks(*queue, g.Group, page)
		if err != nil {
			common.Die(err)
		}
		rep.Aggregating[g.Group] = common.Tasks(ts)
	}
	for _, id := range strings.Split(*ids, ",") {
		if id == "" {
			continue
		}
		t, err := insp.GetTaskInfo(*queue, id)
		if err != nil {
			rep.TaskErrors[id] = err.Error()
			continue
		}
		rep.Tasks[id] = common.FromInfo(t)
	}
	servers, err := insp.Servers()
	if err != nil {
		common.Die(err)
	}
	rep.Servers = []serverInfo{}
	for _, sv := range servers {
		rep.Servers = append(rep.Servers, serverInfo{sv.ID, sv.Host, sv.PID, sv.Concurrency, sv.Queues, sv.Status})
	}
	common.PrintJSON(rep)
}
