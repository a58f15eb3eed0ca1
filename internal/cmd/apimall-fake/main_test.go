package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun_PrintsEnvAndServes(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a.wav")
	wav := []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x40\x1f\x00\x00\x01\x00\x08\x00data\x00\x00\x00\x00\x80")
	if err := os.WriteFile(file, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-api-key", "k", "-fixture", "https://x.example.net/a.wav?v=1=" + file}, pw, io.Discard)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	env := map[string]string{}
	var order []string
	for len(order) < 4 && lines.Scan() {
		k, v, _ := strings.Cut(lines.Text(), "=")
		env[k] = v
		order = append(order, k)
	}
	go io.Copy(io.Discard, pr)
	want := []string{"APIMALL_BASE_URL", "APIMALL_API_KEY", "APIMALL_FAKE_ADMIN_URL", "APIMALL_FAKE_PROXY_URL"}
	if strings.Join(order, ",") != strings.Join(want, ",") || env["APIMALL_API_KEY"] != "k" ||
		!strings.HasPrefix(env["APIMALL_BASE_URL"], "http://127.0.0.1:") {
		t.Fatalf("printed %v %v", order, env)
	}

	req, _ := http.NewRequest(http.MethodPost, env["APIMALL_BASE_URL"]+"/api/v1/files/from-url",
		strings.NewReader(`{"url":"https://x.example.net/a.wav?v=1"}`))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data struct {
			ContentType string `json:"content_type"`
			FileSize    int    `json:"file_size"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != 200 || out.Data.ContentType != "audio/x-wav" && out.Data.ContentType != "audio/wav" && out.Data.ContentType != "audio/wave" || out.Data.FileSize != len(wav) {
		t.Errorf("upload of the -fixture file: %d %+v", resp.StatusCode, out.Data)
	}

	cancel() // as SIGINT would
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
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
