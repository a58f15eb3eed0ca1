// Command benchmark measures the provider with the real CLI against the fake gateway, beside a
// provider-free floor in the same run, and soaks it under faults: `make bench`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

// plan is what one run measures; quick mode keeps it under three minutes.
type plan struct {
	overheadN   []int
	rateLimitN  int
	rate        float64
	burst       int
	concurrency int
	// rateParallelism is the CLI's -parallelism under the rate limit: with whole-second
	// Retry-After answers, an upload told to wait is idle for a second, so it takes more
	// uploads than R waiting at once to keep the gateway's budget in use.
	rateParallelism int
	rateLatency     time.Duration
	latencyN        int
	latency         time.Duration
	soakN           int
	interruptN      int
}

var (
	quickPlan = plan{overheadN: []int{10, 50}, rateLimitN: 60, rate: 20, burst: 5, concurrency: 4, rateParallelism: 40, rateLatency: 180 * time.Millisecond, latencyN: 40, latency: 200 * time.Millisecond, soakN: 60, interruptN: 40}
	fullPlan  = plan{overheadN: []int{10, 100, 500, 1000}, rateLimitN: 300, rate: 20, burst: 5, concurrency: 4, rateParallelism: 40, rateLatency: 180 * time.Millisecond, latencyN: 300, latency: 200 * time.Millisecond, soakN: 300, interruptN: 200}
)

func main() {
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "short run (also BENCH_QUICK=1)")
	cli := flag.String("cli", "", "terraform or tofu binary (default: terraform on PATH, else bin/tofu)")
	out := flag.String("out", "", "also write the report to this file")
	only := flag.String("only", "", "run only these scenarios, comma-separated: overhead, rate, latency, startup, soak, interrupt")
	flag.Parse()

	ctx, stop := signalContext()
	err := run(ctx, *quick, *cli, *out, *only)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, quick bool, cliPath, outPath, only string) error {
	p, mode := fullPlan, "full"
	if quick {
		p, mode = quickPlan, "quick"
	}
	h, err := newHarness(ctx, cliPath)
	if err != nil {
		return err
	}
	defer h.close()

	var report strings.Builder
	w := io.MultiWriter(os.Stdout, &report)
	fmt.Fprintf(w, "# Benchmark report (%s mode)\n\n", mode)
	fmt.Fprintf(w, "- command: `%s`\n- %s\n- CLI: %s\n- Go: %s, GOMAXPROCS %d\n- date: %s\n\n",
		strings.TrimSpace("go run ./internal/benchmark "+strings.Join(os.Args[1:], " ")), machine(), h.cliVersion, runtime.Version(), runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.RFC3339))

	var failures []string
	steps := []struct {
		name string
		run  func(context.Context, io.Writer, plan) error
	}{
		{"overhead", h.overhead}, {"rate", h.rateLimited}, {"latency", h.latency},
		{"startup", h.startup}, {"soak", h.soak}, {"interrupt", h.interrupt},
	}
	for _, step := range steps {
		if only != "" && !slices.Contains(strings.Split(only, ","), step.name) {
			continue
		}
		if err := step.run(ctx, w, p); err != nil {
			if ctx.Err() != nil {
				// Says which signal stopped the run, where ctx.Err would say only "canceled".
				return context.Cause(ctx)
			}
			failures = append(failures, err.Error())
			fmt.Fprintf(w, "\n**FAILED**: %s\n\n", err)
		}
	}
	if outPath != "" {
		if err := os.WriteFile(outPath, []byte(report.String()), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", outPath, err)
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d invariant(s) broken: %s", len(failures), strings.Join(failures, "; "))
	}
	return nil
}

// harness holds what every scenario shares: the built provider, the CLI and a scratch dir.
type harness struct {
	root string
	work string
	// sockets is where the provider processes put their go-plugin sockets. A provider that is
	// killed (the CLI stopped by Ctrl-C, or the start-up scenario) leaves its socket behind, and
	// here it goes with the scratch directory instead of piling up in /tmp.
	sockets     string
	providerBin string
	cliConfig   string
	cli         string
	cliVersion  string
}

func newHarness(ctx context.Context, cliPath string) (*harness, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "apimall-bench-")
	if err != nil {
		return nil, err
	}
	h := &harness{root: root, work: work, sockets: filepath.Join(work, "sockets")}
	if err := os.Mkdir(h.sockets, 0o755); err != nil {
		h.close()
		return nil, fmt.Errorf("creating the plugin socket directory: %w", err)
	}
	h.providerBin = filepath.Join(work, "bin", "terraform-provider-apimall")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", h.providerBin, ".")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		h.close()
		return nil, fmt.Errorf("building the provider: %w", err)
	}
	h.cliConfig = filepath.Join(work, "cli.tfrc")
	overrides := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/apimall/apimall\" = %q\n    \"registry.opentofu.org/apimall/apimall\" = %q\n  }\n  direct {}\n}\n",
		filepath.Dir(h.providerBin), filepath.Dir(h.providerBin))
	if err := os.WriteFile(h.cliConfig, []byte(overrides), 0o644); err != nil {
		h.close()
		return nil, err
	}
	h.cli = cliPath
	if h.cli == "" {
		if h.cli, err = exec.LookPath("terraform"); err != nil {
			h.cli = filepath.Join(root, "bin", "tofu")
		}
	}
	version, err := h.command(ctx, work, "version").Output()
	if err != nil {
		h.close()
		return nil, fmt.Errorf("running %s version: %w", h.cli, err)
	}
	h.cliVersion = strings.SplitN(string(version), "\n", 2)[0]
	return h, nil
}

func (h *harness) close() { _ = os.RemoveAll(h.work) }

// command runs the CLI in dir with the benchmark's CLI configuration.
func (h *harness) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, h.cli, args...)
	cmd.Dir = dir
	// The CLI passes its environment on to the provider processes it starts.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+h.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
		"PLUGIN_UNIX_SOCKET_DIR="+h.sockets)
	return cmd
}

// tf runs the CLI and returns its wall time; the output is kept for the error.
func (h *harness) tf(ctx context.Context, dir string, args ...string) (time.Duration, error) {
	cmd := h.command(ctx, dir, args...)
	start := time.Now()
	output, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return took, fmt.Errorf("%s %s in %s: %w\n%s", filepath.Base(h.cli), strings.Join(args, " "), dir, err, tail(string(output), 2000))
	}
	return took, nil
}

func (h *harness) gateway() (*fakeapimall.Server, error) {
	return fakeapimall.Start(fakeapimall.Options{Fixtures: fakeapimall.DemoFixtures()})
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the repository")
		}
		dir = parent
	}
}

func machine() string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("machine: %d CPUs (%s), %s/%s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
