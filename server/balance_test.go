package server

import (
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// TestRoundRobinAcrossReplicas is the client side of running several
// replicas (deploy/k8s: a headless Service gives the client every pod's
// address): two real servers over the default model repository, and one
// client connection whose resolver lists both addresses with the
// round_robin policy. Once both subchannels are up, calls alternate: each
// replica answers exactly half, seen from the address each call went to.
func TestRoundRobinAcrossReplicas(t *testing.T) {
	var addrs []resolver.Address
	for range 2 {
		root := t.TempDir()
		for _, name := range []string{"mlp", "cart-gnn", "query-encoder"} {
			copyModel(t, root, name)
		}
		ts := startServerWith(t, root, func(Repository) []Service { return nil })
		addrs = append(addrs, resolver.Address{Addr: ts.addr})
	}
	r := manual.NewBuilderWithScheme("aisle-replicas")
	r.InitialState(resolver.State{Addresses: addrs})
	conn, err := grpc.NewClient(r.Scheme()+":///aisle",
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewGRPCInferenceServiceClient(conn)
	ctx := testCtx(t)
	call := func() string {
		var p peer.Peer
		req := &pb.ModelInferRequest{ModelName: "mlp",
			Inputs: []*pb.ModelInferRequest_InferInputTensor{fp32Input("x", []int64{1, 64}, make([]float32, 64))}}
		if _, err := client.ModelInfer(ctx, req, grpc.Peer(&p)); err != nil {
			t.Fatalf("ModelInfer through the balancer: %v", err)
		}
		return p.Addr.String()
	}
	// round_robin starts picking as soon as one subchannel is ready; call
	// until the second one has answered too.
	seen := map[string]int{}
	for i := 0; len(seen) < 2; i++ {
		if i == 1000 {
			t.Fatalf("1000 calls reached only %v of %v", seen, addrs)
		}
		seen[call()]++
	}
	const n = 40
	got := map[string]int{}
	for range n {
		got[call()]++
	}
	for _, a := range addrs {
		if got[a.Addr] != n/2 {
			t.Errorf("replica %s answered %d of %d calls, want %d (all: %v)", a.Addr, got[a.Addr], n, n/2, got)
		}
	}
}
