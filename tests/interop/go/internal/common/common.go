// Package common holds what the interop programs share: the Redis flags and a JSON view of
// asynq.TaskInfo with explicit units (seconds, Unix seconds, 0 = zero time).
package common

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// RedisFlags registers -addr, -db, -socket, -cluster and returns a function building the
// connection option: with -cluster (comma-separated host:port of cluster nodes) a
// RedisClusterClientOpt, as asynq users on Redis Cluster write it.
func RedisFlags() func() asynq.RedisConnOpt {
	addr := flag.String("addr", "127.0.0.1:6379", "redis host:port")
	db := flag.Int("db", 0, "redis database")
	socket := flag.String("socket", "", "unix socket path (overrides -addr)")
	cluster := flag.String("cluster", "", "comma-separated cluster node addresses (overrides -addr)")
	return func() asynq.RedisConnOpt {
		if *cluster != "" {
			return asynq.RedisClusterClientOpt{Addrs: strings.Split(*cluster, ",")}
		}
		if *socket != "" {
			return asynq.RedisClientOpt{Network: "unix", Addr: *socket, DB: *db}
		}
		return asynq.RedisClientOpt{Addr: *addr, DB: *db}
	}
}

// Task is asynq.TaskInfo with plain JSON units.
type Task struct {
	ID            string            `json:"id"`
	Queue         string            `json:"queue"`
	Type          string            `json:"type"`
	PayloadB64    string            `json:"payload_b64"`
	PayloadNil    bool              `json:"payload_nil"`
	Headers       map[string]string `json:"headers"`
	State         string            `json:"state"`
	MaxRetry      int               `json:"max_retry"`
	Retried       int               `json:"retried"`
	LastErr       string            `json:"last_err"`
	LastFailedAt  int64             `json:"last_failed_at"`
	TimeoutS      int64             `json:"timeout_s"`
	Deadline      int64             `json:"deadline"`
	Group         string            `json:"group"`
	NextProcessAt int64             `json:"next_process_at"`
	IsOrphaned    bool              `json:"is_orphaned"`
	RetentionS    int64             `json:"retention_s"`
	CompletedAt   int64             `json:"completed_at"`
	ResultB64     string            `json:"result_b64"`
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// FromInfo converts an asynq.TaskInfo.
func FromInfo(t *asynq.TaskInfo) Task {
	headers := t.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	return Task{
		ID: t.ID, Queue: t.Queue, Type: t.Type,
		PayloadB64: base64.StdEncoding.EncodeToString(t.Payload), PayloadNil: t.Payload == nil,
		Headers: headers, State: t.State.String(), MaxRetry: t.MaxRetry, Retried: t.Retried,
		LastErr: t.LastErr, LastFailedAt: unix(t.LastFailedAt), TimeoutS: int64(t.Timeout / time.Second),
		Deadline: unix(t.Deadline), Group: t.Group, NextProcessAt: unix(t.NextProcessAt),
		IsOrphaned: t.IsOrphaned, RetentionS: int64(t.Retention / time.Second),
		CompletedAt: unix(t.CompletedAt), ResultB64: base64.StdEncoding.EncodeToString(t.Result),
	}
}

// Tasks converts a list.
func Tasks(ts []*asynq.TaskInfo) []Task {
	out := make([]Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, FromInfo(t))
	}
	return out
}

// PrintJSON writes v as one JSON line to stdout.
func PrintJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		Die(err)
	}
	fmt.Println(string(b))
}

// Die prints the error as JSON to stdout and exits 1.
func Die(err error) {
	b, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(b))
	os.Exit(1)
}
