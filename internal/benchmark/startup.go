package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// pluginCookie is what terraform-plugin-go's server checks before it serves; without it
	// the binary only prints that it is a plugin.
	pluginCookie = "TF_PLUGIN_MAGIC_COOKIE=d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
	// getProviderSchema is the CLI's first call to a provider (tfplugin6.proto).
	getProviderSchema = "/tfplugin6.Provider/GetProviderSchema"
	startupRuns       = 20
	// startupTimeout bounds one start, so a provider that never answers fails the scenario
	// instead of hanging it.
	startupTimeout = 30 * time.Second
)

// startup times the provider from exec until its first GetProviderSchema response has been
// received, which is when the CLI can use it. The handshake line comes earlier: the framework
// builds the schema on that first call, so timing the handshake alone would leave that out.
func (h *harness) startup(ctx context.Context, w io.Writer, _ plan) error {
	times := make([]time.Duration, 0, startupRuns)
	for i := range startupRuns {
		took, err := h.startOnce(ctx)
		if err != nil {
			return fmt.Errorf("provider start-up, run %d: %w", i+1, err)
		}
		times = append(times, took)
	}
	slices.Sort(times)
	fmt.Fprintf(w, "## 4. Provider start-up\n\nFrom exec to the schema received: the provider started as the CLI starts it, timed until its first GetProviderSchema response has arrived over gRPC, %d runs.\n\n", startupRuns)
	fmt.Fprintf(w, "| min | median | p90 | max |\n|---:|---:|---:|---:|\n| %s | %s | %s | %s |\n\n",
		ms(times[0]), ms(times[startupRuns/2]), ms(times[startupRuns*9/10]), ms(times[startupRuns-1]))
	return nil
}

// startOnce starts the provider, asks it for its schema, and returns the time from exec until
// the answer arrived.
func (h *harness) startOnce(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.providerBin)
	cmd.Env = append(pluginEnv(os.Environ()), pluginCookie, "PLUGIN_PROTOCOL_VERSIONS=6", "PLUGIN_UNIX_SOCKET_DIR="+h.sockets)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, fmt.Errorf("piping the provider's output: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the provider: %w", err)
	}
	err = handshakeAndSchema(ctx, stdout)
	took := time.Since(start)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil {
		return 0, fmt.Errorf("%w\nprovider output:\n%s", err, tail(stderr.String(), 1500))
	}
	return took, nil
}

// handshakeAndSchema reads the provider's handshake line, then asks it for its schema.
func handshakeAndSchema(ctx context.Context, stdout io.Reader) error {
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the plugin handshake (got %q): %w", line, err)
	}
	network, address, err := parseHandshake(line)
	if err != nil {
		return err
	}
	return fetchSchema(ctx, network, address)
}

// pluginEnv is env without PLUGIN_CLIENT_CERT: given a client certificate, go-plugin serves
// mutual TLS, and the harness dials plain gRPC.
func pluginEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "PLUGIN_CLIENT_CERT=")
	})
}

// parseHandshake reads go-plugin's handshake line, CORE|APP|NETWORK|ADDRESS|PROTOCOL|CERT, into
// where the provider serves. It accepts only what the harness can dial without TLS: plain gRPC
// on protocol 6, on a unix socket (go-plugin's choice on Linux) or a loopback TCP address.
func parseHandshake(line string) (network, address string, err error) {
	fields := strings.Split(strings.TrimSpace(line), "|")
	if len(fields) < 5 {
		return "", "", fmt.Errorf("not a plugin handshake line: %q", line)
	}
	switch {
	case fields[0] != "1":
		return "", "", fmt.Errorf("handshake %q: go-plugin core protocol %s, want 1", line, fields[0])
	case fields[1] != "6":
		return "", "", fmt.Errorf("handshake %q: plugin protocol %s, want 6", line, fields[1])
	case fields[4] != "grpc":
		return "", "", fmt.Errorf("handshake %q: protocol %s, want grpc", line, fields[4])
	case len(fields) > 5 && fields[5] != "":
		return "", "", fmt.Errorf("handshake %q: the provider serves TLS, which it does only when PLUGIN_CLIENT_CERT is set", line)
	}
	network, address = fields[2], fields[3]
	switch network {
	case "unix":
		if address == "" {
			return "", "", fmt.Errorf("handshake %q: no socket path", line)
		}
	case "tcp":
		host, _, err := net.SplitHostPort(address)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return "", "", fmt.Errorf("handshake %q: %s is not a loopback address", line, address)
		}
	default:
		return "", "", fmt.Errorf("handshake %q: network %s, want unix or tcp", line, network)
	}
	return network, address, nil
}

// fetchSchema calls GetProviderSchema over plain gRPC. terraform-plugin-go keeps its generated
// tfplugin6 types internal, so emptypb.Empty stands in for both messages: the request is empty
// anyway, and the response keeps every field it decodes as unknown fields, whose size proves
// that a schema came back.
func fetchSchema(ctx context.Context, network, address string) error {
	target := "passthrough:///" + address
	if network == "unix" {
		target = "unix:" + address
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connecting to the provider at %s: %w", target, err)
	}
	defer conn.Close()
	var schema emptypb.Empty
	if err := conn.Invoke(ctx, getProviderSchema, &emptypb.Empty{}, &schema); err != nil {
		return fmt.Errorf("calling GetProviderSchema at %s: %w", target, err)
	}
	if proto.Size(&schema) == 0 {
		return errors.New("GetProviderSchema answered with an empty message")
	}
	return nil
}
