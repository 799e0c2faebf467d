package redisstore

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	// The crash tests make go-redis log every refused dial.
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}
