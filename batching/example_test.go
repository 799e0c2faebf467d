package batching_test

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/aisle-ai/aisle/batching"
	"github.com/aisle-ai/aisle/tensor"
)

// doubler is a Runner for a model computing y = 2x.
type doubler struct{}

func (doubler) Run(_ context.Context, in []tensor.Tensor) ([]tensor.Tensor, error) {
	x := tensor.View[float32](in[0].Data)
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = 2 * v
	}
	return []tensor.Tensor{tensor.FromSlice("y", in[0].Shape, y)}, nil
}

func Example() {
	metrics := batching.NewMetrics(prometheus.NewRegistry())
	s, err := batching.New(batching.Config{
		Model: "doubler", Version: 1, MaxBatchSize: 32,
		Dynamic: &batching.Dynamic{
			MaxQueueDelay:      500 * time.Microsecond,
			DefaultQueuePolicy: batching.QueuePolicy{MaxQueueSize: 1024},
		},
		Inputs:  []batching.InputSpec{{Name: "x", DType: tensor.FP32}},
		Outputs: []batching.OutputSpec{{Name: "y"}},
	}, []batching.Runner{doubler{}, doubler{}}, metrics)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	outs, err := s.Infer(ctx, batching.Request{Inputs: []tensor.Tensor{
		tensor.FromSlice("x", []int64{2, 2}, []float32{1, 2, 3, 4}),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(outs[0].Name, outs[0].Shape, tensor.View[float32](outs[0].Data))

	// On unload: drain, then release the runners, then forget the series.
	if err := s.Close(ctx); err != nil {
		fmt.Println(err)
	}
	metrics.Forget("doubler", "1")
	// Output: y [2 2] [2 4 6 8]
}
