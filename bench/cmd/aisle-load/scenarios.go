package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/aisle-ai/aisle/graphnn"
	aislepb "github.com/aisle-ai/aisle/proto/aisle/v1"
	pb "github.com/aisle-ai/aisle/proto/inference"
)

// A scenario is one RPC with a pool of realistic requests, sent round-robin.
type scenario struct {
	name  string // results key and plot file name
	rpc   string // what the table says it calls
	model string // the model whose aisle_batch_size histogram the scenario fills ("" = none)
	reqs  []proto.Message
	call  func(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error
	// units counts what one request carries when that is not one thing
	// (RecordEvents: its events); nil = 1.
	units func(m proto.Message) int
	// items is the catalogue size of a catalogue-sweep scenario, else 0.
	items int
}

// heldOut is the request material: held-out Groceries carts
// (testdata/groceries/holdout.json's test lines, never trained on) as item
// names, and queries derived from them the way the encoder's evaluation
// derives them (category name, 1–2 word name fragment, category + fragment).
type heldOut struct {
	carts   [][]string
	queries []string
	index   map[string]int64 // cart-gnn item name → model index
}

func loadHeldOut(root string) (*heldOut, error) {
	raw, err := os.ReadFile(filepath.Join(root, "testdata", "groceries", "holdout.json"))
	if err != nil {
		return nil, err
	}
	var h struct {
		TestLines []int `json:"test_lines"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("holdout.json: %w", err)
	}
	lines, err := readLines(filepath.Join(root, "testdata", "groceries", "groceries.csv"))
	if err != nil {
		return nil, err
	}
	cat := map[string]string{}
	items, err := readLines(filepath.Join(root, "models", "query-encoder", "items.tsv"))
	if err != nil {
		return nil, err
	}
	for _, l := range items[1:] {
		if f := strings.Split(l, "\t"); len(f) >= 3 {
			cat[f[1]] = f[2]
		}
	}
	gnn, err := readLines(filepath.Join(root, "models", "cart-gnn", "items.tsv"))
	if err != nil {
		return nil, err
	}
	d := &heldOut{index: map[string]int64{}}
	for _, l := range gnn[1:] {
		if f := strings.Split(l, "\t"); len(f) >= 2 {
			i, err := strconv.ParseInt(f[0], 10, 64)
			if err == nil {
				d.index[f[1]] = i
			}
		}
	}
	rng := rand.New(rand.NewPCG(13, 13))
	for _, n := range h.TestLines {
		if n < 0 || n >= len(lines) {
			continue
		}
		cart := strings.Split(lines[n], ",")
		if len(cart) < 2 {
			continue
		}
		d.carts = append(d.carts, cart[:len(cart)-1]) // the last item is the one to predict
		name := cart[rng.IntN(len(cart))]
		words := strings.Fields(strings.NewReplacer("/", " ", "-", " ").Replace(name))
		frag := strings.Join(words[:min(len(words), 1+rng.IntN(2))], " ")
		switch rng.IntN(3) {
		case 0:
			d.queries = append(d.queries, cat[name])
		case 1:
			d.queries = append(d.queries, frag)
		default:
			d.queries = append(d.queries, cat[name]+" "+frag)
		}
	}
	if len(d.carts) == 0 {
		return nil, fmt.Errorf("no held-out carts in %s", root)
	}
	return d, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func modelInfer(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
	_, err := pb.NewGRPCInferenceServiceClient(cc).ModelInfer(ctx, m.(*pb.ModelInferRequest))
	return err
}

func int64In(name string, shape []int64, v []int64) *pb.ModelInferRequest_InferInputTensor {
	return &pb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "INT64", Shape: shape,
		Contents: &pb.InferTensorContents{Int64Contents: v}}
}

// scenarios are the RPCs the suite drives on the main server (ModelInfer,
// EmbedQuery, RecommendCart, Recommend, and RecordEvents into the
// in-process store, carrying token).
func scenarios(d *heldOut, token string) []*scenario {
	var enc, mlp, gnn, embed, cartReqs, recCart, recSearch []proto.Message
	rng := rand.New(rand.NewPCG(7, 7))
	var b graphnn.Builder
	for i, cart := range d.carts {
		q := d.queries[i]
		enc = append(enc, &pb.ModelInferRequest{ModelName: "query-encoder", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
			Name: "text", Datatype: "BYTES", Shape: []int64{1}, Contents: &pb.InferTensorContents{BytesContents: [][]byte{[]byte(q)}}}}})
		x := make([]float32, 64)
		for j := range x {
			x[j] = rng.Float32()
		}
		mlp = append(mlp, &pb.ModelInferRequest{ModelName: "mlp", Inputs: []*pb.ModelInferRequest_InferInputTensor{{
			Name: "x", Datatype: "FP32", Shape: []int64{1, 64}, Contents: &pb.InferTensorContents{Fp32Contents: x}}}})
		var ids []int64
		for _, n := range cart {
			if id, ok := d.index[n]; ok {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			var g graphnn.Batch
			if err := b.Build([][]int64{graphnn.Last(ids, 50)}, &g); err == nil {
				is, as, ss := g.ItemsShape(), g.AShape(), g.SeqShape()
				gnn = append(gnn, &pb.ModelInferRequest{ModelName: "cart-gnn", Inputs: []*pb.ModelInferRequest_InferInputTensor{
					int64In("items", is[:], g.Items),
					{Name: "A", Datatype: "FP32", Shape: as[:], Contents: &pb.InferTensorContents{Fp32Contents: g.A}},
					int64In("alias", ss[:], g.Alias),
					int64In("mask", ss[:], g.Mask),
				}})
			}
		}
		embed = append(embed, &aislepb.EmbedQueryRequest{Model: "query-encoder", Texts: []string{q}})
		cartReqs = append(cartReqs, &aislepb.RecommendCartRequest{Model: "cart-gnn", ItemNames: cart, K: 10})
		recCart = append(recCart, &aislepb.RecommendRequest{GuestId: fmt.Sprintf("g%d", i%97), Surface: "cart", Cart: cart, K: 10})
		recSearch = append(recSearch, &aislepb.RecommendRequest{GuestId: fmt.Sprintf("g%d", i%97), Surface: "search", Query: q, K: 10})
	}
	pc := func(ctx context.Context, cc *grpc.ClientConn) aislepb.PersonalizationClient {
		return aislepb.NewPersonalizationClient(cc)
	}
	return []*scenario{
		{name: "infer-encoder", rpc: "ModelInfer query-encoder (1 query, BYTES)", model: "query-encoder", reqs: enc, call: modelInfer},
		{name: "infer-mlp", rpc: "ModelInfer mlp (1 × 64 FP32)", model: "mlp", reqs: mlp, call: modelInfer},
		{name: "infer-gnn", rpc: "ModelInfer cart-gnn (1 session graph)", model: "cart-gnn", reqs: gnn, call: modelInfer},
		{name: "embed", rpc: "EmbedQuery (1 query)", model: "query-encoder", reqs: embed,
			call: func(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
				_, err := pc(ctx, cc).EmbedQuery(ctx, m.(*aislepb.EmbedQueryRequest))
				return err
			}},
		{name: "cart", rpc: "RecommendCart (held-out cart, k 10)", model: "cart-gnn", reqs: cartReqs,
			call: func(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
				_, err := pc(ctx, cc).RecommendCart(ctx, m.(*aislepb.RecommendCartRequest))
				return err
			}},
		{name: "recommend-cart", rpc: "Recommend surface cart", model: "cart-gnn", reqs: recCart, call: recommend},
		{name: "recommend-search", rpc: "Recommend surface search (query)", model: "query-encoder", reqs: recSearch, call: recommend},
		eventScenario("events", "in-process store", d, token),
	}
}

func recommend(ctx context.Context, cc *grpc.ClientConn, m proto.Message) error {
	_, err := aislepb.NewPersonalizationClient(cc).Recommend(ctx, m.(*aislepb.RecommendRequest))
	return err
}

// seqScenario sends one synthetic query of n tokens to the BERT-sized
// benchmark encoder (positions up to 128), for the sequence-length sweep.
func seqScenario(n int) *scenario {
	ids := make([]int64, n)
	mask := make([]int64, n)
	types := make([]int64, n)
	for i := range ids {
		ids[i], mask[i] = 2000+int64(i), 1
	}
	ids[0], ids[n-1] = 101, 102
	shape := []int64{1, int64(n)}
	return &scenario{name: fmt.Sprintf("seq-%d", n), rpc: fmt.Sprintf("ModelInfer bench-encoder (%d tokens)", n), model: "bench-encoder",
		reqs: []proto.Message{&pb.ModelInferRequest{ModelName: "bench-encoder", Inputs: []*pb.ModelInferRequest_InferInputTensor{
			int64In("input_ids", shape, ids), int64In("attention_mask", shape, mask), int64In("token_type_ids", shape, types)}}},
		call: modelInfer}
}

// writeRequests writes each scenario's requests as a JSON array of
// protojson messages, the form `ghz --data-file` reads.
func writeRequests(dir string, ss []*scenario) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, s := range ss {
		var sb strings.Builder
		sb.WriteString("[\n")
		for i, m := range s.reqs {
			j, err := protojson.Marshal(m)
			if err != nil {
				return err
			}
			if i > 0 {
				sb.WriteString(",\n")
			}
			sb.Write(j)
		}
		sb.WriteString("\n]\n")
		if err := os.WriteFile(filepath.Join(dir, s.name+".json"), []byte(sb.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
