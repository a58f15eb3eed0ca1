package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

// signalContext ends on the first Ctrl-C or SIGTERM, which stops the CLI run in progress and
// lets the scratch directory be removed. Past that first signal the default action is back, so
// a second Ctrl-C ends the harness at once should that cleanup hang.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// writeConfig writes a configuration of n resources into a new directory: terraform_data for
// the floor, apimall_remote_file otherwise.
func (h *harness) writeConfig(name string, n int, srv *fakeapimall.Server, providerExtra string) (string, error) {
	dir := filepath.Join(h.work, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var config string
	if srv == nil {
		config = fmt.Sprintf("resource \"terraform_data\" \"f\" {\n  count = %d\n  input = \"file-${count.index}\"\n}\n", n)
	} else {
		config = fmt.Sprintf(`terraform {
  required_providers {
    apimall = { source = "apimall/apimall" }
  }
}

provider "apimall" {
  base_url = %q
  api_key  = %q
  %s
}

resource "apimall_remote_file" "f" {
  count      = %d
  source_url = %q
  filename   = "cat-${count.index}.png"
}
`, srv.URL(), srv.APIKey(), providerExtra, n, fakeapimall.DemoImageURL)
	}
	return dir, os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644)
}

// stateKeys reads the storage keys in a directory's local state; resources without a key
// (terraform_data) count with an empty one.
func stateKeys(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate"))
	if err != nil {
		return nil, err
	}
	var state struct {
		Resources []struct {
			Instances []struct {
				Attributes struct {
					Key string `json:"key"`
				} `json:"attributes"`
			} `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, fmt.Errorf("reading the state in %s: %w", dir, err)
	}
	var keys []string
	for _, r := range state.Resources {
		for _, i := range r.Instances {
			keys = append(keys, i.Attributes.Key)
		}
	}
	return keys, nil
}

// checkKeys is the state half of the soak's invariant: n keys, none twice, each one stored.
func checkKeys(keys []string, n int, stored func(key string) bool) error {
	if len(keys) != n {
		return fmt.Errorf("%d resources in state, want %d", len(keys), n)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			return fmt.Errorf("key %s is in state twice", k)
		}
		seen[k] = true
		if !stored(k) {
			return fmt.Errorf("key %s is in state but the gateway never stored it", k)
		}
	}
	return nil
}

// checkConverged is the soak's invariant: n resources in state, each once, each a key the
// gateway really stored, and a plan with nothing to do.
func (h *harness) checkConverged(ctx context.Context, dir string, n int, srv *fakeapimall.Server) error {
	keys, err := stateKeys(dir)
	if err != nil {
		return err
	}
	if err := checkKeys(keys, n, func(key string) bool { _, ok := srv.Object(key); return ok }); err != nil {
		return err
	}
	cmd := h.command(ctx, dir, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("the second plan is not empty (%w):\n%s", err, tail(string(out), 1500))
	}
	return nil
}

// cliRun is one CLI run: its wall time, and where the CPU time went. harness is this process:
// the in-process gateway together with the harness's own work, which getrusage cannot split.
type cliRun struct {
	wall, cli, provider, harness time.Duration
	providerPeakKiB              int64
}

// measure runs the CLI in dir and splits its CPU time between the CLI itself, the provider
// processes it started, and this process (gateway and harness).
func (h *harness) measure(ctx context.Context, dir string, args ...string) (cliRun, error) {
	rss := watchRSS(h.providerBin, h.cli)
	childrenBefore, selfBefore := childrenCPU(), selfCPU()
	wall, err := h.tf(ctx, dir, args...)
	peak, provider := rss.stop()
	return cliRun{
		wall:            wall,
		cli:             max(childrenCPU()-childrenBefore-provider, 0),
		provider:        provider,
		harness:         selfCPU() - selfBefore,
		providerPeakKiB: peak,
	}, err
}

func (h *harness) overhead(ctx context.Context, w io.Writer, p plan) error {
	srv, err := h.gateway()
	if err != nil {
		return err
	}
	defer srv.Close()
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}
	refresh := []string{"plan", "-refresh-only", "-input=false", "-no-color"}
	type row struct {
		n                                                int
		floorApply, apimallApply, floorPlan, apimallPlan cliRun
	}
	var rows []row
	for _, n := range p.overheadN {
		r := row{n: n}
		floorDir, err := h.writeConfig(fmt.Sprintf("overhead-%d-floor", n), n, nil, "")
		if err != nil {
			return err
		}
		apimallDir, err := h.writeConfig(fmt.Sprintf("overhead-%d-apimall", n), n, srv, "")
		if err != nil {
			return err
		}
		for _, step := range []struct {
			dir  string
			args []string
			into *cliRun
		}{
			{floorDir, apply, &r.floorApply},
			{apimallDir, apply, &r.apimallApply},
			{floorDir, refresh, &r.floorPlan},
			{apimallDir, refresh, &r.apimallPlan},
		} {
			if *step.into, err = h.measure(ctx, step.dir, step.args...); err != nil {
				return err
			}
		}
		if err := h.checkConverged(ctx, apimallDir, n, srv); err != nil {
			return fmt.Errorf("overhead N=%d: %w", n, err)
		}
		rows = append(rows, r)
	}

	fmt.Fprintf(w, "## 1. Provider overhead against the terraform_data floor\n\n")
	fmt.Fprintf(w, "Zero-latency gateway, default -parallelism (10). Wall time of the whole CLI run.\n\n")
	fmt.Fprintf(w, "| N | apply floor | apply apimall | ratio | refresh-only plan floor | refresh-only plan apimall | ratio | provider peak RSS |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %s | %s | %.2fx | %s | %s | %.2fx | %.1f MiB |\n", r.n,
			secs(r.floorApply.wall), secs(r.apimallApply.wall), ratio(r.apimallApply.wall, r.floorApply.wall),
			secs(r.floorPlan.wall), secs(r.apimallPlan.wall), ratio(r.apimallPlan.wall, r.floorPlan.wall),
			float64(max(r.apimallApply.providerPeakKiB, r.apimallPlan.providerPeakKiB))/1024)
	}
	fmt.Fprintf(w, "\nWhere the CPU time went (CPU seconds; the machine has 2 cores): the CLI process itself, the provider processes it started, and the harness process, which runs the gateway beside its own work (the provider watcher included): getrusage cannot split the two.\n\n")
	fmt.Fprintf(w, "| N | apply: CLI, floor | apply: CLI, apimall | apply: provider | apply: gateway + harness | refresh: CLI, floor | refresh: CLI, apimall | refresh: provider | refresh: gateway + harness |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.n,
			secs(r.floorApply.cli), secs(r.apimallApply.cli), secs(r.apimallApply.provider), secs(r.apimallApply.harness),
			secs(r.floorPlan.cli), secs(r.apimallPlan.cli), secs(r.apimallPlan.provider), secs(r.apimallPlan.harness))
	}
	fmt.Fprintln(w)
	return nil
}

func (h *harness) rateLimited(ctx context.Context, w io.Writer, p plan) error {
	n := p.rateLimitN
	floor := time.Duration(float64(n) / p.rate * float64(time.Second))
	fmt.Fprintf(w, "## 2. Under a rate limit\n\n")
	fmt.Fprintf(w, "N = %d, gateway token bucket %.0f uploads/s (burst %d), at most %d uploads at once, %s per upload, -parallelism %d, max_retries 10. Floor N/R = %s.\n\n",
		n, p.rate, p.burst, p.concurrency, p.rateLatency, p.rateParallelism, secs(floor))
	fmt.Fprintf(w, "| max_concurrent_uploads | failures | 429 rate | 429 concurrency | upload attempts | wall | wall / (N/R) |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, limit := range []int{0, p.concurrency} {
		srv, err := h.gateway()
		if err != nil {
			return err
		}
		srv.SetRateLimit(p.rate, p.burst)
		srv.SetConcurrencyLimit(p.concurrency)
		// Uploads that take a while are what a concurrency limit refuses.
		srv.SetLatency(p.rateLatency)
		extra := ""
		if limit > 0 {
			extra = fmt.Sprintf("max_concurrent_uploads = %d\n  max_retries = 10", limit)
		} else {
			extra = "max_retries = 10"
		}
		dir, err := h.writeConfig(fmt.Sprintf("rate-%d", limit), n, srv, extra)
		if err != nil {
			srv.Close()
			return err
		}
		took, applyErr := h.tf(ctx, dir, "apply", "-auto-approve", "-input=false", "-no-color", fmt.Sprintf("-parallelism=%d", p.rateParallelism))
		keys, _ := stateKeys(dir)
		stats := srv.Stats()
		label := "unset"
		if limit > 0 {
			label = strconv.Itoa(limit)
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s | %.2fx |\n", label, n-len(keys), stats.RateLimited, stats.ConcurrencyLimited,
			stats.UploadAttempts, secs(took), ratio(took, floor))
		err = applyErr
		if err == nil {
			err = h.checkConverged(ctx, dir, n, srv)
		}
		srv.Close()
		if err != nil {
			return fmt.Errorf("rate-limited apply (max_concurrent_uploads %s): %w", label, err)
		}
	}
	fmt.Fprintln(w)
	return nil
}

func (h *harness) latency(ctx context.Context, w io.Writer, p plan) error {
	n := p.latencyN
	fmt.Fprintf(w, "## 3. With gateway latency\n\n")
	fmt.Fprintf(w, "N = %d, %s added to every upload.\n\n", n, p.latency)
	fmt.Fprintf(w, "| -parallelism | wall | floor N x latency / parallelism | ratio | peak uploads in flight |\n|---:|---:|---:|---:|---:|\n")
	for _, parallelism := range []int{10, 50} {
		srv, err := h.gateway()
		if err != nil {
			return err
		}
		srv.SetLatency(p.latency)
		dir, err := h.writeConfig(fmt.Sprintf("latency-%d", parallelism), n, srv, "")
		if err != nil {
			srv.Close()
			return err
		}
		took, err := h.tf(ctx, dir, "apply", "-auto-approve", "-input=false", "-no-color", fmt.Sprintf("-parallelism=%d", parallelism))
		floor := time.Duration(n) * p.latency / time.Duration(parallelism)
		fmt.Fprintf(w, "| %d | %s | %s | %.2fx | %d |\n", parallelism, secs(took), secs(floor), ratio(took, floor), srv.Stats().MaxInFlightUploads)
		if err == nil {
			err = h.checkConverged(ctx, dir, n, srv)
		}
		srv.Close()
		if err != nil {
			return fmt.Errorf("latency apply at -parallelism %d: %w", parallelism, err)
		}
	}
	fmt.Fprintln(w)
	return nil
}

func (h *harness) soak(ctx context.Context, w io.Writer, p plan) error {
	n := p.soakN
	srv, err := h.gateway()
	if err != nil {
		return err
	}
	defer srv.Close()
	html := []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
	srv.SetFaultRate(0.2, []fakeapimall.Fault{
		{Status: 429, RetryAfter: "1"},
		{Status: 500},
		{Status: 502, Body: html, ContentType: "text/html"},
		{Drop: true},
		{Stall: time.Second},
		{Status: 502, Body: html, ContentType: "text/html", AfterStore: true},
	})
	dir, err := h.writeConfig("soak", n, srv, "max_retries = 10")
	if err != nil {
		return err
	}
	start := time.Now()
	runs := 0
	var lastErr error
	for runs < 5 {
		runs++
		if _, lastErr = h.tf(ctx, dir, "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20"); lastErr == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	took := time.Since(start)
	srv.SetFaultRate(0, nil)
	stats := srv.Stats()
	keys, _ := stateKeys(dir)
	fmt.Fprintf(w, "## 5. Fault soak\n\nN = %d, 20%% of uploads faulted (429 with Retry-After, 500, 502 HTML, dropped connection, 1 s stall, 502 after the file was stored), max_retries 10, -parallelism 20.\n\n", n)
	fmt.Fprintf(w, "| applies needed | wall | failed resources | in state | faults injected | upload attempts | stored | duplicates stored | idempotent replays |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %d | %s | %d | %d | %d | %d | %d | %d | %d |\n\n", runs, secs(took), n-len(keys), len(keys),
		stats.FaultsInjected, stats.UploadAttempts, stats.StoredUploads, stats.DuplicateUploads, stats.IdempotentReplays)
	if lastErr != nil {
		return fmt.Errorf("soak: apply still failing after %d runs: %w", runs, lastErr)
	}
	if runs > 1 {
		return fmt.Errorf("soak: %d applies were needed; faults failed resources", runs)
	}
	if err := h.checkConverged(ctx, dir, n, srv); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	fmt.Fprintf(w, "Every resource is in state once, with a key the gateway stored; the second plan is empty.\n\n")
	return nil
}

// interrupt sends SIGINT to the CLI once half the uploads are stored, as Ctrl-C would, then
// re-applies and checks that nothing was lost or doubled in state.
func (h *harness) interrupt(ctx context.Context, w io.Writer, p plan) error {
	n := p.interruptN
	srv, err := h.gateway()
	if err != nil {
		return err
	}
	defer srv.Close()
	srv.SetLatency(300 * time.Millisecond)
	dir, err := h.writeConfig("interrupt", n, srv, "")
	if err != nil {
		return err
	}
	cmd := h.command(ctx, dir, "apply", "-auto-approve", "-input=false", "-no-color")
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the apply to interrupt: %w", err)
	}
	ended := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(ended)
	}()
	half := n / 2
	if err := waitUntil(ctx, ended, 20*time.Millisecond, func() bool { return srv.Stats().StoredUploads >= half }); err != nil {
		// On Ctrl-C the context stops the CLI; it must be gone before its directory is removed.
		<-ended
		if errors.Is(err, errEndedFirst) {
			return fmt.Errorf("interrupt: the apply ended (%s) with %d of %d uploads stored, before the %d at which it was to be interrupted:\n%s",
				exitDescription(waitErr), srv.Stats().StoredUploads, n, half, tail(output.String(), 2000))
		}
		return err
	}
	storedAtSignal := srv.Stats().StoredUploads
	_ = cmd.Process.Signal(os.Interrupt)
	signalled := time.Now()
	<-ended
	stopTook := time.Since(signalled)
	afterKeys, _ := stateKeys(dir)
	storedBefore := srv.Stats().StoredUploads
	srv.SetLatency(0)
	if _, err := h.tf(ctx, dir, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		return fmt.Errorf("re-apply after the interrupt: %w", err)
	}
	keys, _ := stateKeys(dir)
	stats := srv.Stats()
	fmt.Fprintf(w, "## 6. Interrupted apply\n\nN = %d, 300 ms per upload; SIGINT to the CLI once %d uploads were stored.\n\n", n, storedAtSignal)
	fmt.Fprintf(w, "| CLI stopped after | interrupted apply exit | in state after interrupt | stored by then | in state after re-apply | stored in all | stored but not in state |\n|---:|---|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(w, "| %s | %v | %d | %d | %d | %d | %d |\n\n", secs(stopTook), exitDescription(waitErr), len(afterKeys), storedBefore, len(keys),
		stats.StoredUploads, stats.StoredUploads-len(keys))
	if err := h.checkConverged(ctx, dir, n, srv); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	fmt.Fprintf(w, "The re-apply converged: every resource in state once, each a stored key, and the next plan is empty.\n\n")
	return nil
}

// errEndedFirst is waitUntil's answer when the process it watches ended before the condition held.
var errEndedFirst = errors.New("the process ended before the condition held")

// waitUntil polls cond every interval until it holds. It gives up when ctx ends (Ctrl-C), or
// when ended is closed while cond still does not hold: once the process producing the change
// is gone, cond may never hold, and polling on would hang the harness.
func waitUntil(ctx context.Context, ended <-chan struct{}, interval time.Duration, cond func() bool) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ended:
			// The process may have made cond true on its way out.
			if cond() {
				return nil
			}
			return errEndedFirst
		case <-ticker.C:
		}
	}
	return nil
}

func exitDescription(err error) string {
	if err == nil {
		return "0 (finished first)"
	}
	return err.Error()
}

// rssWatcher samples the peak resident set (VmHWM) and the CPU time of every process running
// the provider binary. Its own CPU time counts in the harness's share, so it reads each entry
// of /proc once and then follows only the providers it found.
type rssWatcher struct {
	binary, cli string
	done        chan struct{}
	wg          sync.WaitGroup
	// Only the sampling goroutine touches these until stop has waited for it.
	peak      int64         // KiB
	cpu       map[int]int64 // clock ticks, by provider pid, as last seen
	providers map[int]bool  // provider pids, true while the process is still there
	others    map[int]bool  // pids running something else
}

// watchRSS follows the processes running binary, which the CLI at cli starts.
func watchRSS(binary, cli string) *rssWatcher {
	r := &rssWatcher{
		binary: resolved(binary), cli: resolved(cli), done: make(chan struct{}),
		cpu: map[int]int64{}, providers: map[int]bool{}, others: map[int]bool{},
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		for {
			r.sample()
			select {
			case <-r.done:
				return
			case <-ticker.C:
			}
		}
	}()
	return r
}

// resolved is path with its symbolic links resolved, as /proc/PID/exe shows it.
func resolved(path string) string {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		return target
	}
	return path
}

func (r *rssWatcher) sample() {
	proc, err := os.Open("/proc")
	if err != nil {
		return
	}
	names, _ := proc.Readdirnames(-1)
	_ = proc.Close()
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || r.others[pid] {
			continue
		}
		if _, known := r.providers[pid]; known {
			continue
		}
		switch exe, err := os.Readlink("/proc/" + name + "/exe"); {
		case err == nil && exe == r.binary:
			r.providers[pid] = true
		case err == nil && exe == r.cli:
			// The CLI, or a child it forked that has not exec'd the provider yet: look again
			// next time.
		default:
			r.others[pid] = true
		}
	}
	for pid, running := range r.providers {
		if running {
			r.providers[pid] = r.read(pid)
		}
	}
}

// read records one provider's CPU time and peak RSS; it answers false once the process is gone.
func (r *rssWatcher) read(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false
	}
	if ticks, ok := statCPU(stat); ok {
		r.cpu[pid] = ticks
	}
	// A process that has exited but is not yet reaped has a stat and no memory figures.
	if status, err := os.ReadFile(dir + "/status"); err == nil {
		if kib, ok := statusPeakRSS(status); ok {
			r.peak = max(r.peak, kib)
		}
	}
	return true
}

// statCPU is the user plus system time, in clock ticks, in a /proc/PID/stat.
func statCPU(stat []byte) (int64, bool) {
	// The command name may hold spaces and parentheses; the fields after its closing
	// parenthesis are fixed, utime and stime the 12th and 13th of them.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat)[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, errU := strconv.ParseInt(f[11], 10, 64)
	stime, errS := strconv.ParseInt(f[12], 10, 64)
	if errU != nil || errS != nil {
		return 0, false
	}
	return utime + stime, true
}

// statusPeakRSS is the VmHWM line of a /proc/PID/status, in KiB.
func statusPeakRSS(status []byte) (int64, bool) {
	for _, line := range strings.Split(string(status), "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && fields[0] == "VmHWM:" {
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			return kib, err == nil
		}
	}
	return 0, false
}

// stop ends the sampling and returns the peak RSS in KiB and the CPU time seen.
func (r *rssWatcher) stop() (int64, time.Duration) {
	close(r.done)
	r.wg.Wait()
	var ticks int64
	for _, t := range r.cpu {
		ticks += t
	}
	return r.peak, time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// childrenCPU is the CPU time of every child process this process has waited for: each CLI
// run, with the provider processes the CLI waited for.
func childrenCPU() time.Duration { return cpuTime(syscall.RUSAGE_CHILDREN) }

// selfCPU is the CPU time of this process so far: the in-process fake gateway's and the
// harness's own, together.
func selfCPU() time.Duration { return cpuTime(syscall.RUSAGE_SELF) }

// cpuTime is the user plus system time getrusage reports for who.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func ms(d time.Duration) string   { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}
