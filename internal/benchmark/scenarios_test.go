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
