// Command apimall-fake runs the offline API Mall gateway on loopback, for demos and users' CI.
//
// Its standard output is four lines, APIMALL_BASE_URL=..., APIMALL_API_KEY=...,
// APIMALL_FAKE_ADMIN_URL=... and APIMALL_FAKE_PROXY_URL=..., written at once; then it serves
// until SIGINT or SIGTERM. A script starts it in the background with standard output going to a
// file and reads the lines from the file once the last one is there (scripts/demo.sh does this):
//
//	apimall-fake >fake.env 2>fake.log &
//	fake_pid=$!
//	until grep -q '^APIMALL_FAKE_PROXY_URL=' fake.env; do sleep 0.1; done
//	set -a; . ./fake.env; set +a
//	...
//	kill "$fake_pid"; wait "$fake_pid"
//
// Reading them through a pipe, as in eval "$(apimall-fake | head -4)", hangs for ever: the
// command writes nothing more, so it never gets SIGPIPE when head exits, and $(...) waits for
// the whole pipeline to end.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

// fixtureFlags collects repeated -fixture URL=FILE flags.
type fixtureFlags []string

func (f *fixtureFlags) String() string { return strings.Join(*f, ",") }

func (f *fixtureFlags) Set(v string) error {
	i := strings.LastIndex(v, "=")
	if i <= 0 || i == len(v)-1 {
		return fmt.Errorf("want URL=FILE, got %q", v)
	}
	*f = append(*f, v)
	return nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "apimall-fake:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Caught from the start: a script may signal as soon as it has read the four lines, and
	// before Notify a SIGTERM kills the process uncleanly, while a SIGINT to a background job
	// of a non-interactive shell (started with SIGINT ignored) is lost altogether.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	fs := flag.NewFlagSet("apimall-fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "gateway listen address (loopback only)")
	proxyAddr := fs.String("proxy-addr", "127.0.0.1:0", "forward proxy listen address (loopback only)")
	apiKey := fs.String("api-key", "", "API key to accept (default: a generated one)")
	noDemo := fs.Bool("no-demo", false, "do not serve the built-in demo fixtures")
	latency := fs.Duration("latency", 0, "latency added to every upload")
	rps := fs.Float64("rate-limit", 0, "uploads per second before 429 (0 = off)")
	burst := fs.Int("burst", 1, "token bucket size for -rate-limit")
	conc := fs.Int("concurrency-limit", 0, "uploads in progress before 429 (0 = off)")
	var fixtures fixtureFlags
	fs.Var(&fixtures, "fixture", "serve FILE at source URL, as URL=FILE (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	table := map[string]fakeapimall.Fixture{}
	if !*noDemo {
		table = fakeapimall.DemoFixtures()
	}
	for _, spec := range fixtures {
		i := strings.LastIndex(spec, "=")
		u, file := spec[:i], spec[i+1:]
		body, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("-fixture %s: %w", spec, err)
		}
		f := fakeapimall.Fixture{Body: body, Header: http.Header{}}
		// Like a static file server: the type comes from the extension; unknown ones are
		// left out so the gateway sniffs the bytes.
		if ct := mime.TypeByExtension(filepath.Ext(file)); ct != "" {
			f.Header.Set("Content-Type", ct)
		}
		if fi, err := os.Stat(file); err == nil {
			f.Header.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
		}
		table[u] = f
	}

	srv, err := fakeapimall.Start(fakeapimall.Options{APIKey: *apiKey, Fixtures: table, Addr: *addr, ProxyAddr: *proxyAddr})
	if err != nil {
		return err
	}
	srv.SetLatency(*latency)
	srv.SetRateLimit(*rps, *burst)
	srv.SetConcurrencyLimit(*conc)

	// The first two lines are the contract with scripts; write them in one flush.
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "APIMALL_BASE_URL=%s\n", srv.URL())
	fmt.Fprintf(out, "APIMALL_API_KEY=%s\n", srv.APIKey())
	fmt.Fprintf(out, "APIMALL_FAKE_ADMIN_URL=%s%s\n", srv.URL(), fakeapimall.AdminPrefix)
	fmt.Fprintf(out, "APIMALL_FAKE_PROXY_URL=%s\n", srv.ProxyURL())
	if err := out.Flush(); err != nil {
		srv.Close()
		return err
	}
	urls := slices.Sorted(maps.Keys(table))
	fmt.Fprintf(stderr, "apimall-fake: serving %d fixture source(s):\n", len(urls))
	for _, u := range urls {
		fmt.Fprintf(stderr, "  %s\n", u)
	}
	fmt.Fprintf(stderr, "apimall-fake: admin API under %s%s:\n", srv.URL(), fakeapimall.AdminPrefix)
	for _, line := range strings.Split(fakeapimall.AdminRoutes, "\n") {
		fmt.Fprintf(stderr, "  %s\n", line)
	}
	fmt.Fprintln(stderr, "apimall-fake: Ctrl-C to stop")

	<-ctx.Done()
	stop() // a second signal now kills the process at once

	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	srv.Close()
	fmt.Fprintln(stderr, "apimall-fake: stopped")
	return nil
}
