package testredis

import (
	"context"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Traffic counts what a go-redis client sends, as a hook (client.AddHook):
// Commands counts each command, those of a pipeline or MULTI/EXEC each;
// RoundTrips counts a command or a whole pipeline as one.
type Traffic struct {
	Commands, RoundTrips atomic.Int64
}

// DialHook implements redis.Hook; dials are not counted.
func (c *Traffic) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (c *Traffic) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.Commands.Add(1)
		c.RoundTrips.Add(1)
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (c *Traffic) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.Commands.Add(int64(len(cmds)))
		c.RoundTrips.Add(1)
		return next(ctx, cmds)
	}
}
