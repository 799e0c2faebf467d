package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// tritonClient calls aisle with messages built from Triton's own
// grpc_service.proto and model_config.proto (testdata/triton), not from
// aisle's: what it sends and decodes is what a client generated from
// Triton's files sends and decodes. Requests are written as Triton's
// protobuf JSON and responses read back the same way.
type tritonClient struct {
	conn  *grpc.ClientConn
	svc   protoreflect.ServiceDescriptor
	types *dynamicpb.Types
}

func newTritonClient(t *testing.T, conn *grpc.ClientConn) *tritonClient {
	files := tritonFiles(t)
	return &tritonClient{conn: conn, svc: tritonService(t, files), types: dynamicpb.NewTypes(files)}
}

func (c *tritonClient) method(t *testing.T, name string) protoreflect.MethodDescriptor {
	t.Helper()
	m := c.svc.Methods().ByName(protoreflect.Name(name))
	if m == nil {
		t.Fatalf("Triton has no RPC %s", name)
	}
	return m
}

func (c *tritonClient) fullMethod(m protoreflect.MethodDescriptor) string {
	return fmt.Sprintf("/%s/%s", c.svc.FullName(), m.Name())
}

// message parses Triton JSON into a message of type d.
func (c *tritonClient) message(t *testing.T, d protoreflect.MessageDescriptor, js string) *dynamicpb.Message {
	t.Helper()
	msg := dynamicpb.NewMessage(d)
	if err := (protojson.UnmarshalOptions{Resolver: c.types}).Unmarshal([]byte(js), msg); err != nil {
		t.Fatalf("request %s: %v", js, err)
	}
	return msg
}

// decode turns a Triton message into its JSON form (proto field names).
func (c *tritonClient) decode(t *testing.T, msg proto.Message) map[string]any {
	t.Helper()
	data, err := (protojson.MarshalOptions{Resolver: c.types, UseProtoNames: true}).Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// call runs a unary RPC with a request written as JSON.
func (c *tritonClient) call(ctx context.Context, t *testing.T, name, js string) (map[string]any, error) {
	t.Helper()
	m := c.method(t, name)
	resp := dynamicpb.NewMessage(m.Output())
	if err := c.conn.Invoke(ctx, c.fullMethod(m), c.message(t, m.Input(), js), resp); err != nil {
		return nil, err
	}
	return c.decode(t, resp), nil
}

// mustCall is call that fails the test on an error.
func (c *tritonClient) mustCall(ctx context.Context, t *testing.T, name, js string) map[string]any {
	t.Helper()
	out, err := c.call(ctx, t, name, js)
	if err != nil {
		t.Fatalf("%s(%s): %v", name, js, err)
	}
	return out
}

// stream opens a ModelStreamInfer-like bidirectional stream.
func (c *tritonClient) stream(ctx context.Context, t *testing.T, name string) (grpc.ClientStream, protoreflect.MethodDescriptor) {
	t.Helper()
	m := c.method(t, name)
	desc := &grpc.StreamDesc{StreamName: name, ClientStreams: m.IsStreamingClient(), ServerStreams: m.IsStreamingServer()}
	s, err := c.conn.NewStream(ctx, desc, c.fullMethod(m))
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

// get follows a path of JSON keys (and decimal list indexes).
func get(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// wantCode checks an RPC's status code and that its message mentions want.
func wantStatus(t *testing.T, err error, code codes.Code, want string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code || !strings.Contains(st.Message(), want) {
		t.Fatalf("got %v %q, want %v with %q", st.Code(), st.Message(), code, want)
	}
}

// wantJSON checks that v at path, printed with %v, is want.
func wantJSON(t *testing.T, v any, want string, path ...string) {
	t.Helper()
	if got := fmt.Sprint(get(v, path...)); got != want {
		t.Errorf("%s = %s, want %s", strings.Join(path, "."), got, want)
	}
}

// errStreamEnd tells a stream's end from a failure.
var errStreamEnd = errors.New("stream ended")

// recvStream receives one streamed response as JSON.
func (c *tritonClient) recvStream(t *testing.T, s grpc.ClientStream, m protoreflect.MethodDescriptor) (map[string]any, error) {
	t.Helper()
	resp := dynamicpb.NewMessage(m.Output())
	if err := s.RecvMsg(resp); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errStreamEnd
		}
		return nil, err
	}
	return c.decode(t, resp), nil
}
