package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

// startRun runs the command in-process with args and returns what it printed on its first four
// lines, in order; stop cancels it (as SIGINT would) and returns run's error.
func startRun(t *testing.T, args ...string) (env map[string]string, order []string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	env = map[string]string{}
	for len(order) < 4 && lines.Scan() {
		k, v, _ := strings.Cut(lines.Text(), "=")
		env[k] = v
		order = append(order, k)
	}
	go io.Copy(io.Discard, pr)
	stopped := false
	stop = func() error {
		t.Helper()
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not stop")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			_ = stop()
		}
	})
	return env, order, stop
}

// postUpload uploads sourceURL to the gateway at baseURL with apiKey and decodes the answer.
func postUpload(t *testing.T, baseURL, apiKey, sourceURL string) (int, uploadAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, baseURL+fakeapimall.UploadPath, strings.NewReader(`{"url":"`+sourceURL+`"}`))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out uploadAnswer
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

type uploadAnswer struct {
	Data struct {
		ContentType string `json:"content_type"`
		FileSize    int    `json:"file_size"`
	} `json:"data"`
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func TestRun_PrintsEnvAndServes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.wav")
	wav := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x00\x00\x00\x00\x80")
	if err := os.WriteFile(file, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	env, order, stop := startRun(t, "-api-key", "k", "-fixture", "https://x.example.net/a.wav?v=1="+file)
	want := []string{"APIMALL_BASE_URL", "APIMALL_API_KEY", "APIMALL_FAKE_ADMIN_URL", "APIMALL_FAKE_PROXY_URL"}
	if strings.Join(order, ",") != strings.Join(want, ",") || env["APIMALL_API_KEY"] != "k" ||
		!strings.HasPrefix(env["APIMALL_BASE_URL"], "http://127.0.0.1:") {
		t.Fatalf("printed %v %v", order, env)
	}

	status, out := postUpload(t, env["APIMALL_BASE_URL"], "k", "https://x.example.net/a.wav?v=1")
	if status != 200 || out.Data.ContentType != "audio/x-wav" && out.Data.ContentType != "audio/wav" && out.Data.ContentType != "audio/wave" || out.Data.FileSize != len(wav) {
		t.Errorf("upload of the -fixture file: %d %+v", status, out.Data)
	}
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRun_GeneratesAPIKey(t *testing.T) {
	env, _, _ := startRun(t)
	key := env["APIMALL_API_KEY"]
	if strings.TrimSpace(key) == "" {
		t.Fatalf("printed an empty APIMALL_API_KEY: %v", env)
	}
	tests := []struct {
		name, key  string
		wantStatus int
	}{
		{"printed key", key, http.StatusOK},
		{"another key", key + "x", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, out := postUpload(t, env["APIMALL_BASE_URL"], tt.key, fakeapimall.DemoImageURL); status != tt.wantStatus {
				t.Errorf("upload with %s: %d %+v, want %d", tt.name, status, out, tt.wantStatus)
			}
		})
	}
	if env2, _, _ := startRun(t); env2["APIMALL_API_KEY"] == key {
		t.Errorf("two runs generated the same key %q", key)
	}
}

// TestCommand_StopsCleanlyOnSignal runs the built command the way the package comment tells
// scripts to (in the background, stdout to a file) and signals it as soon as the file is complete.
func TestCommand_StopsCleanlyOnSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT or SIGTERM to send on Windows")
	}
	if testing.Short() {
		t.Skip("builds the command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "apimall-fake")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		sig  os.Signal
		// idle first makes requests that leave keep-alive connections open on both listeners;
		// without it the signal follows the four lines at once.
		idle bool
	}{
		{"SIGINT at once", os.Interrupt, false},
		{"SIGTERM at once", syscall.SIGTERM, false},
		{"SIGINT with idle connections", os.Interrupt, true},
		{"SIGTERM with idle connections", syscall.SIGTERM, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			outFile := filepath.Join(dir, "fake.env")
			stdout, err := os.Create(outFile)
			if err != nil {
				t.Fatal(err)
			}
			defer stdout.Close()
			png := filepath.Join(dir, "a.png")
			if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(bin, "-fixture", "http://assets.example.com/a.png="+png)
			cmd.Stdout, cmd.Stderr = stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					<-exited
				}
			})

			env := waitForEnv(t, outFile, exited)
			if tt.idle {
				// Idle keep-alive connections must not hold the shutdown up.
				tr := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
					if r.URL.Host == "assets.example.com" {
						return url.Parse(env["APIMALL_FAKE_PROXY_URL"])
					}
					return nil, nil
				}}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
				for _, u := range []string{env["APIMALL_FAKE_ADMIN_URL"] + "stats", "http://assets.example.com/a.png"} {
					resp, err := client.Get(u)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("GET %s: %d", u, resp.StatusCode)
					}
				}
			}

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("after %v: %v (want exit 0)\n%s", tt.sig, err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("still running 10s after %v", tt.sig)
			}
			if code := cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(stderr.String(), "apimall-fake: stopped") {
				t.Errorf("exit code %d, stderr:\n%s", code, stderr.String())
			}
			for _, name := range []string{"APIMALL_BASE_URL", "APIMALL_FAKE_PROXY_URL"} {
				u, _ := url.Parse(env[name])
				if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
					conn.Close()
					t.Errorf("%s %s still accepts connections", name, u.Host)
				}
			}
		})
	}
}

// waitForEnv reads the command's four lines from the file its stdout goes to, once all are there.
// It polls without pausing, so the caller's signal can follow the lines within microseconds, as
// from a script's tight loop.
func waitForEnv(t *testing.T, file string, exited <-chan error) map[string]string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if lines := strings.Split(string(b), "\n"); len(lines) > 4 {
			env := map[string]string{}
			for _, l := range lines[:4] {
				k, v, _ := strings.Cut(l, "=")
				env[k] = v
			}
			return env
		}
		select {
		case err := <-exited:
			t.Fatalf("the command exited before printing its four lines: %v", err)
		default:
		}
	}
	t.Fatal("the command did not print its four lines within 10s")
	return nil
}

func TestRun_RefusesNonLoopback(t *testing.T) {
	for _, args := range [][]string{
		{"-addr", "0.0.0.0:0"},
		{"-addr", "192.168.1.10:8080"},
		{"-proxy-addr", "[::]:0"},
		{"-fixture", "no-equals-sign"},
		{"-fixture", "https://x.example.net/a.png=/does/not/exist"},
		{"stray"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
