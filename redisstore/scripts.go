package redisstore

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed append.lua
	appendSrc string
	//go:embed fold.lua
	foldSrc string
	//go:embed dead.lua
	deadSrc string
	//go:embed arms.lua
	armsSrc string
	//go:embed join.lua
	joinSrc string
	//go:embed redrive.lua
	redriveSrc string
	// recordSrc defines count, the dead letters' record's reader, for the
	// three scripts that read the record: one copy, prepended to each
	// (their error line numbers count its lines).
	//go:embed record.lua
	recordSrc string

	appendScript  = redis.NewScript(appendSrc)
	foldScript    = redis.NewScript(recordSrc + foldSrc)
	deadScript    = redis.NewScript(recordSrc + deadSrc)
	armsScript    = redis.NewScript(armsSrc)
	joinScript    = redis.NewScript(joinSrc)
	redriveScript = redis.NewScript(recordSrc + redriveSrc)
)

// scriptCall is one EVALSHA of a pipelined batch; cmd holds its reply.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// runScripts sends calls in one pipeline (go-redis splits it by node in a
// Cluster). Calls answered NOSCRIPT (a restarted or new node has an empty
// script cache) are re-sent once after loading the scripts everywhere; the
// others ran and are not repeated. Each call's own error stays in its cmd.
func (s *Store) runScripts(ctx context.Context, calls []*scriptCall) {
	for attempt := 0; attempt < 2 && len(calls) > 0; attempt++ {
		pipe := s.rdb.Pipeline()
		for _, c := range calls {
			c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
		}
		_, _ = pipe.Exec(ctx)
		var again []*scriptCall
		for _, c := range calls {
			if err := c.cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				again = append(again, c)
			}
		}
		if len(again) == 0 || s.loadScripts(ctx) != nil {
			return
		}
		calls = again
	}
}

// loadScripts loads every script on every master.
func (s *Store) loadScripts(ctx context.Context) error {
	load := func(ctx context.Context, c redis.Scripter) error {
		for _, sc := range []*redis.Script{appendScript, foldScript, deadScript, armsScript, joinScript, redriveScript} {
			if err := sc.Load(ctx, c).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return load(ctx, c) })
	}
	return load(ctx, s.rdb)
}
