package provider

import (
	"context"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

type requestValueKey struct{}

// requestValue stands for what terraform-plugin-go puts in a request's context: loggers,
// fields, the request ID.
type requestValue struct{ fields map[string]any }

// trackedContext returns a request's context and a weak pointer to the value in it.
func trackedContext() (context.Context, context.CancelFunc, weak.Pointer[requestValue]) {
	value := &requestValue{fields: map[string]any{"tf_req_id": "test"}}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), requestValueKey{}, value))
	return ctx, cancel, weak.Make(value)
}

// contextKeptAfterCall calls the server the way tf6server does, with a context holding a value,
// and reports whether that value is still reachable once the call has returned.
func contextKeptAfterCall(t *testing.T, server tfprotov6.ProviderServer) bool {
	t.Helper()
	ctx, cancel, kept := trackedContext()
	if _, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "apimall_remote_file"}); err != nil {
		t.Fatalf("ValidateResourceConfig: %v", err)
	}
	cancel() // as gRPC does when a call ends
	for range 3 {
		runtime.GC()
	}
	defer runtime.KeepAlive(server) // a served provider outlives its calls
	return kept.Value() != nil
}

func TestNewServer_releasesRequestContexts(t *testing.T) {
	if !contextKeptAfterCall(t, providerserver.NewProtocol6(New("test", "none")())()) {
		t.Fatal("terraform-plugin-framework no longer keeps request contexts: NewServer's wrapper can go")
	}
	if contextKeptAfterCall(t, NewServer("test", "none")()) {
		t.Fatal("a request's context is still reachable after its call returned")
	}
}

func TestReleasableContext(t *testing.T) {
	parent, cancelParent := context.WithTimeout(context.WithValue(context.Background(), requestValueKey{}, "v"), time.Hour)
	defer cancelParent()
	rc := &releasableContext{parent: parent}
	child, cancelChild := context.WithCancel(rc)
	defer cancelChild()

	if rc.Value(requestValueKey{}) != "v" {
		t.Error("values of the request's context must be visible during the call")
	}
	if _, ok := rc.Deadline(); !ok {
		t.Error("the request's deadline must be visible during the call")
	}
	cancelParent()
	select {
	case <-child.Done():
	case <-time.After(time.Second):
		t.Fatal("cancelling the request's context must cancel contexts derived during the call")
	}

	rc.release()
	if rc.Value(requestValueKey{}) != nil {
		t.Error("a released context must hold no values")
	}
	if rc.Err() == nil {
		t.Error("a released context must be done")
	}
	if _, ok := rc.Deadline(); ok {
		t.Error("a released context has no deadline")
	}
}
