package provider

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// NewServer returns the provider's protocol 6 server, the one main.go serves and the acceptance
// tests run.
//
// terraform-plugin-framework (v1.19) keeps the cancel function of every request's context until
// StopProvider, so each request's context, with the loggers and fields terraform-plugin-go put
// in it, stays reachable for the life of the plugin: tens of MiB over an apply of 1000
// resources. No option turns that off, so the per-resource calls are given a context that lets
// go of the request's context when the call returns; what the framework keeps is then a few
// words per call. Calls made once per process are left as they are, and so are streaming
// calls, whose responses use the context after the call has returned.
func NewServer(version, commit string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		return releasingServer{providerserver.NewProtocol6(New(version, commit)())()}
	}
}

type releasingServer struct {
	tfprotov6.ProviderServer
}

// withReleasedContext calls handle with a context that lets go of ctx when handle returns.
func withReleasedContext[Req, Resp any](ctx context.Context, req Req, handle func(context.Context, Req) (Resp, error)) (Resp, error) {
	rc := &releasableContext{parent: ctx}
	defer rc.release()
	return handle(rc, req)
}

func (s releasingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.ValidateResourceConfig)
}

func (s releasingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.UpgradeResourceState)
}

func (s releasingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.ReadResource)
}

func (s releasingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.PlanResourceChange)
}

func (s releasingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.ApplyResourceChange)
}

func (s releasingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return withReleasedContext(ctx, req, s.ProviderServer.ImportResourceState)
}

// releasableContext is its parent until release, and after it an empty, cancelled context.
// Done returns the parent's channel, so context.WithCancel still links a child straight to the
// parent's cancellation without a goroutine.
type releasableContext struct {
	mu     sync.RWMutex
	parent context.Context
}

// released stands in for a request's context once its call has returned.
var released = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

func (c *releasableContext) current() context.Context {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.parent
}

func (c *releasableContext) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.parent = released
}

func (c *releasableContext) Deadline() (time.Time, bool) { return c.current().Deadline() }
func (c *releasableContext) Done() <-chan struct{}       { return c.current().Done() }
func (c *releasableContext) Err() error                  { return c.current().Err() }
func (c *releasableContext) Value(key any) any           { return c.current().Value(key) }
