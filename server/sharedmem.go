package server

import (
	"context"
	"fmt"

	pb "github.com/aisle-ai/aisle/proto/inference"
)

// errSharedMemory answers Triton's six shared-memory RPCs. Shared memory
// lets a client on the server's host pass tensors by region instead of in
// the request; aisle serves remote clients only, so every tensor travels
// in the request (contents or raw_input_contents).
var errSharedMemory = fmt.Errorf("%w: shared memory is not supported: aisle serves remote clients only; "+
	"send tensors in the request (contents or raw_input_contents)", errUnsupported)

func (s *inferenceService) SystemSharedMemoryStatus(context.Context, *pb.SystemSharedMemoryStatusRequest) (*pb.SystemSharedMemoryStatusResponse, error) {
	return nil, toStatus(errSharedMemory)
}

func (s *inferenceService) SystemSharedMemoryRegister(context.Context, *pb.SystemSharedMemoryRegisterRequest) (*pb.SystemSharedMemoryRegisterResponse, error) {
	return nil, toStatus(errSharedMemory)
}

func (s *inferenceService) SystemSharedMemoryUnregister(context.Context, *pb.SystemSharedMemoryUnregisterRequest) (*pb.SystemSharedMemoryUnregisterResponse, error) {
	return nil, toStatus(errSharedMemory)
}

func (s *inferenceService) CudaSharedMemoryStatus(context.Context, *pb.CudaSharedMemoryStatusRequest) (*pb.CudaSharedMemoryStatusResponse, error) {
	return nil, toStatus(errSharedMemory)
}

func (s *inferenceService) CudaSharedMemoryRegister(context.Context, *pb.CudaSharedMemoryRegisterRequest) (*pb.CudaSharedMemoryRegisterResponse, error) {
	return nil, toStatus(errSharedMemory)
}

func (s *inferenceService) CudaSharedMemoryUnregister(context.Context, *pb.CudaSharedMemoryUnregisterRequest) (*pb.CudaSharedMemoryUnregisterResponse, error) {
	return nil, toStatus(errSharedMemory)
}
