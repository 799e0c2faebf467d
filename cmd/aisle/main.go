// Command aisle serves ONNX models for real-time retail personalization over
// the KServe v2 gRPC protocol and aisle's own Personalization API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `aisle: real-time inference and ranking for retail personalization.

Usage:
  aisle serve [flags]                  serve the model repository over gRPC
  aisle models inspect [flags] FILE    describe an ONNX file (and suggest a config.yaml)
  aisle infer [flags]                  send one inference request from JSON
  aisle recommend [flags] ITEM...      recommendations (cart, search, home) from a running server
  aisle ope [flags]                    off-policy evaluation of a bandit policy from logs
  aisle events send [flags] FILE       send protojson Event lines (JSONL) to a running server
  aisle events redrive [flags]         move Redis dead-letter events back to be folded again
  aisle features load|get|instacart    long-term features: bulk load, show a guest, compute from Instacart
  aisle aggregate [flags]              fold events from Redis into guest features (separate worker process)
  aisle replay [flags]                 replay recorded orders as a click-stream (JSON lines)
  aisle version                        print the version

Run "aisle <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aisle:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("missing command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:])
	case "models":
		if len(args) < 2 || args[1] != "inspect" {
			return fmt.Errorf("usage: aisle models inspect [--config] FILE")
		}
		return inspect(args[2:], os.Stdout)
	case "infer":
		return infer(ctx, args[1:], os.Stdout)
	case "recommend":
		return recommendCmd(ctx, args[1:], os.Stdout)
	case "ope":
		return opeCmd(args[1:], os.Stdout)
	case "events":
		return eventsCmd(ctx, args[1:], os.Stdout)
	case "features":
		return featuresCmd(ctx, args[1:], os.Stdout)
	case "aggregate":
		return aggregateCmd(ctx, args[1:])
	case "replay":
		return replayCmd(args[1:], os.Stdout, os.Stderr)
	case "version":
		fmt.Println("aisle", version)
		return nil
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
