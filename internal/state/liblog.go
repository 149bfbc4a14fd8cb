package state

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// SendRedisLogsTo makes go-redis's own messages (dial failures, Sentinel
// and Cluster topology changes) JSON lines of log at debug level, instead
// of plain text on stderr. go-redis keeps one logger per process, so the
// process's entry point calls this once; the Store logs what an operator
// needs (Redis down, back) at warn and info itself.
func SendRedisLogsTo(log *slog.Logger) {
	redis.SetLogger(redisLog{log})
}

type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	if l.log.Enabled(ctx, slog.LevelDebug) {
		l.log.LogAttrs(ctx, slog.LevelDebug, "redis: "+fmt.Sprintf(format, v...))
	}
}
