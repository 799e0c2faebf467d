package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/aisle-ai/aisle/excerpt"
	pb "github.com/aisle-ai/aisle/proto/inference"
	"github.com/aisle-ai/aisle/repository"
)

func (s *inferenceService) RepositoryIndex(_ context.Context, req *pb.RepositoryIndexRequest) (*pb.RepositoryIndexResponse, error) {
	if err := checkRepositoryName(req.RepositoryName); err != nil {
		return nil, toStatus(err)
	}
	resp := &pb.RepositoryIndexResponse{}
	for _, e := range s.repo.Index() {
		if req.Ready && e.State != "READY" {
			continue
		}
		resp.Models = append(resp.Models, &pb.RepositoryIndexResponse_ModelIndex{
			Name: e.Name, Version: e.Version, State: e.State, Reason: clientMessage(e.Reason),
		})
	}
	return resp, nil
}

func (s *inferenceService) RepositoryModelLoad(ctx context.Context, req *pb.RepositoryModelLoadRequest) (*pb.RepositoryModelLoadResponse, error) {
	if err := checkRepositoryName(req.RepositoryName); err != nil {
		return nil, toStatus(err)
	}
	if len(req.Parameters) > 0 {
		// Loading from bytes sent in the request would bypass the files
		// operators review; models come from the repository directory.
		return nil, toStatus(fmt.Errorf("%w: load parameters (config, file:) are not supported; place files in the repository", errBadRequest))
	}
	if err := s.repo.LoadModel(ctx, req.ModelName); err != nil {
		return nil, toStatus(err)
	}
	return &pb.RepositoryModelLoadResponse{}, nil
}

func (s *inferenceService) RepositoryModelUnload(ctx context.Context, req *pb.RepositoryModelUnloadRequest) (*pb.RepositoryModelUnloadResponse, error) {
	if err := checkRepositoryName(req.RepositoryName); err != nil {
		return nil, toStatus(err)
	}
	if err := s.repo.UnloadModel(ctx, req.ModelName); err != nil {
		return nil, toStatus(err)
	}
	return &pb.RepositoryModelUnloadResponse{}, nil
}

// checkRepositoryName accepts the empty name: aisle serves one repository.
func checkRepositoryName(name string) error {
	if name != "" {
		return fmt.Errorf("%w: repository %s: aisle serves a single repository; leave repository_name empty", repository.ErrModelNotFound, excerpt.Quote(name))
	}
	return nil
}

func (s *inferenceService) ModelStatistics(_ context.Context, req *pb.ModelStatisticsRequest) (*pb.ModelStatisticsResponse, error) {
	names := []string{req.Name}
	if req.Name == "" {
		names = s.readyModels()
	}
	resp := &pb.ModelStatisticsResponse{}
	for _, name := range names {
		versions := []string{req.Version}
		if req.Version == "" {
			versions = versionStrings(s.repo.Versions(name))
		}
		for _, ver := range versions {
			st, err := s.versionStats(name, ver)
			if err != nil {
				if req.Name == "" && !errors.Is(err, repository.ErrModelNotFound) {
					continue
				}
				return nil, toStatus(err)
			}
			resp.ModelStats = append(resp.ModelStats, st)
		}
	}
	return resp, nil
}

// versionStats holds the version only while reading its statistics, and
// releases it on every path, a panic included: a version never released
// would hold its unload for the whole drain timeout.
func (s *inferenceService) versionStats(name, version string) (*pb.ModelStatistics, error) {
	v, err := s.repo.Get(name, version)
	if err != nil {
		return nil, err
	}
	defer v.Release()
	return modelStats(v), nil
}

func (s *inferenceService) readyModels() []string {
	seen := map[string]bool{}
	var names []string
	for _, e := range s.repo.Index() {
		if e.State == "READY" && !seen[e.Name] {
			seen[e.Name] = true
			names = append(names, e.Name)
		}
	}
	sort.Strings(names)
	return names
}

func versionStrings(vs []int64) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strconv.FormatInt(v, 10)
	}
	return out
}

func isNotFound(err error) bool {
	return errors.Is(err, repository.ErrModelNotFound) || errors.Is(err, repository.ErrVersionNotFound)
}
