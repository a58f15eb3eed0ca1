package main

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestParseHandshake(t *testing.T) {
	tests := []struct {
		name        string
		line        string
		wantNetwork string
		wantAddress string
		wantErr     string
	}{
		{name: "unix socket", line: "1|6|unix|/tmp/plugin123|grpc|\n", wantNetwork: "unix", wantAddress: "/tmp/plugin123"},
		{name: "loopback tcp", line: "1|6|tcp|127.0.0.1:10000|grpc|\n", wantNetwork: "tcp", wantAddress: "127.0.0.1:10000"},
		{name: "multiplexing segment", line: "1|6|unix|/tmp/plugin123|grpc||true\r\n", wantNetwork: "unix", wantAddress: "/tmp/plugin123"},
		{name: "not a handshake", line: "This binary is a plugin.\n", wantErr: "not a plugin handshake line"},
		{name: "core protocol", line: "2|6|unix|/tmp/p|grpc|\n", wantErr: "core protocol 2, want 1"},
		{name: "protocol 5", line: "1|5|unix|/tmp/p|grpc|\n", wantErr: "plugin protocol 5, want 6"},
		{name: "net/rpc", line: "1|6|unix|/tmp/p|netrpc|\n", wantErr: "protocol netrpc, want grpc"},
		{name: "tls", line: "1|6|unix|/tmp/p|grpc|MIIBcert\n", wantErr: "serves TLS"},
		{name: "remote tcp", line: "1|6|tcp|10.0.0.1:10000|grpc|\n", wantErr: "not a loopback address"},
		{name: "tcp without port", line: "1|6|tcp|127.0.0.1|grpc|\n", wantErr: "not a loopback address"},
		{name: "empty socket path", line: "1|6|unix||grpc|\n", wantErr: "no socket path"},
		{name: "other network", line: "1|6|udp|127.0.0.1:1|grpc|\n", wantErr: "network udp, want unix or tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network, address, err := parseHandshake(tt.line)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseHandshake(%q) error = %v, want one containing %q", tt.line, err, tt.wantErr)
				}
				return
			}
			if err != nil || network != tt.wantNetwork || address != tt.wantAddress {
				t.Fatalf("parseHandshake(%q) = %q, %q, %v; want %q, %q", tt.line, network, address, err, tt.wantNetwork, tt.wantAddress)
			}
		})
	}
}

func TestPluginEnv(t *testing.T) {
	env := []string{"HOME=/root", "PLUGIN_CLIENT_CERT=-----BEGIN CERTIFICATE-----", "PATH=/bin"}
	got := pluginEnv(env)
	if want := []string{"HOME=/root", "PATH=/bin"}; !slices.Equal(got, want) {
		t.Fatalf("pluginEnv = %q, want %q", got, want)
	}
	if env[1] != "PLUGIN_CLIENT_CERT=-----BEGIN CERTIFICATE-----" {
		t.Fatalf("pluginEnv changed its argument: %q", env)
	}
}

// schemaServer serves answer to every gRPC call on a unix socket and records the methods called.
func schemaServer(t *testing.T, answer proto.Message) (address string, methods chan string) {
	t.Helper()
	address = filepath.Join(t.TempDir(), "plugin.sock")
	listener, err := net.Listen("unix", address)
	if err != nil {
		t.Fatal(err)
	}
	methods = make(chan string, 1)
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		methods <- method
		var request emptypb.Empty
		if err := stream.RecvMsg(&request); err != nil {
			return err
		}
		return stream.SendMsg(answer)
	}))
	go func() { _ = srv.Serve(listener) }()
	t.Cleanup(srv.Stop)
	return address, methods
}

func TestFetchSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("schema received", func(t *testing.T) {
		address, methods := schemaServer(t, wrapperspb.String("a schema"))
		if err := fetchSchema(ctx, "unix", address); err != nil {
			t.Fatalf("fetchSchema: %v", err)
		}
		if method := <-methods; method != getProviderSchema {
			t.Fatalf("called %s, want %s", method, getProviderSchema)
		}
	})
	t.Run("empty answer", func(t *testing.T) {
		address, _ := schemaServer(t, &emptypb.Empty{})
		if err := fetchSchema(ctx, "unix", address); err == nil || !strings.Contains(err.Error(), "empty message") {
			t.Fatalf("fetchSchema error = %v, want an empty-message error", err)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		if err := fetchSchema(ctx, "unix", filepath.Join(t.TempDir(), "absent.sock")); err == nil {
			t.Fatal("fetchSchema succeeded with no server")
		}
	})
}

func TestWaitUntil(t *testing.T) {
	never := func() bool { return false }
	t.Run("condition holds", func(t *testing.T) {
		polls := 0
		err := waitUntil(context.Background(), make(chan struct{}), time.Millisecond, func() bool { polls++; return polls == 3 })
		if err != nil || polls != 3 {
			t.Fatalf("waitUntil = %v after %d polls, want nil after 3", err, polls)
		}
	})
	t.Run("process ended first", func(t *testing.T) {
		ended := make(chan struct{})
		close(ended)
		if err := waitUntil(context.Background(), ended, time.Hour, never); !errors.Is(err, errEndedFirst) {
			t.Fatalf("waitUntil = %v, want errEndedFirst", err)
		}
	})
	t.Run("process ended after the condition held", func(t *testing.T) {
		ended := make(chan struct{})
		held := false
		cond := func() bool {
			if held {
				return true
			}
			held = true // false on the first poll, true on the one after the process ended
			close(ended)
			return false
		}
		if err := waitUntil(context.Background(), ended, time.Hour, cond); err != nil {
			t.Fatalf("waitUntil = %v, want nil", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := waitUntil(ctx, make(chan struct{}), time.Hour, never); !errors.Is(err, context.Canceled) {
			t.Fatalf("waitUntil = %v, want context.Canceled", err)
		}
	})
}
