package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStateKeys(t *testing.T) {
	dir := t.TempDir()
	state := `{"version": 4, "resources": [
	  {"type": "apimall_remote_file", "instances": [{"attributes": {"key": "uploads/a.png"}}, {"attributes": {"key": "uploads/b.png"}}]},
	  {"type": "terraform_data", "instances": [{"attributes": {"input": "x"}}]}
	]}`
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := stateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"uploads/a.png", "uploads/b.png", ""}
	if len(keys) != len(want) {
		t.Fatalf("stateKeys = %q, want %q", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("stateKeys = %q, want %q", keys, want)
		}
	}
}

func TestCheckKeys(t *testing.T) {
	stored := func(key string) bool { return key == "a" || key == "b" }
	tests := []struct {
		name    string
		keys    []string
		n       int
		wantErr string
	}{
		{name: "converged", keys: []string{"a", "b"}, n: 2},
		{name: "missing resource", keys: []string{"a"}, n: 2, wantErr: "1 resources in state, want 2"},
		{name: "resource twice", keys: []string{"a", "a"}, n: 2, wantErr: "key a is in state twice"},
		{name: "never stored", keys: []string{"a", "c"}, n: 2, wantErr: "key c is in state but the gateway never stored it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkKeys(tt.keys, tt.n, stored)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("checkKeys: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("checkKeys error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestStatCPU(t *testing.T) {
	tests := []struct {
		name   string
		stat   string
		want   int64
		wantOK bool
	}{
		{name: "plain", stat: "4242 (terraform-provi) S 4200 4242 1 0 -1 4194560 1500 0 0 0 37 5 0 0 20 0 9 0 123456 1000000 2000 18446744073709551615", want: 42, wantOK: true},
		{name: "name with spaces and parentheses", stat: "7 (a) b (c) R 1 7 1 0 -1 0 0 0 0 0 100 20 0 0 20 0 1 0 1 1 1", want: 120, wantOK: true},
		{name: "truncated", stat: "7 (a) R 1 7 1 0", wantOK: false},
		{name: "no command name", stat: "garbage", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := statCPU([]byte(tt.stat))
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("statCPU = %d, %t; want %d, %t", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestStatusPeakRSS(t *testing.T) {
	status := "Name:\tterraform-provi\nVmPeak:\t 1300000 kB\nVmHWM:\t   41236 kB\nVmRSS:\t   40000 kB\n"
	if got, ok := statusPeakRSS([]byte(status)); got != 41236 || !ok {
		t.Fatalf("statusPeakRSS = %d, %t; want 41236, true", got, ok)
	}
	// An exited process that is not yet reaped has no memory lines.
	if _, ok := statusPeakRSS([]byte("Name:\tterraform-provi\nState:\tZ (zombie)\n")); ok {
		t.Fatal("statusPeakRSS found a peak in a zombie's status")
	}
}
