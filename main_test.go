package main

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestCollectGarbageLessOften(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))

	t.Setenv("GOGC", "")
	collectGarbageLessOften()
	if got := debug.SetGCPercent(100); got != 400 {
		t.Errorf("with GOGC unset the target is %d%%, want 400%%", got)
	}

	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50)
	collectGarbageLessOften()
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("with GOGC=50 the target is %d%%, want the user's 50%%", got)
	}
}

func TestQuietUnlessLogging(t *testing.T) {
	sdkLogs := []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}
	for _, name := range append(logSettings, sdkLogs...) {
		t.Setenv(name, "")
	}

	quietUnlessLogging()
	for _, name := range sdkLogs {
		if got := os.Getenv(name); got != "OFF" {
			t.Errorf("with no log variable set, %s = %q, want OFF", name, got)
		}
	}

	for _, name := range sdkLogs {
		t.Setenv(name, "")
	}
	t.Setenv("TF_LOG", "DEBUG")
	quietUnlessLogging()
	for _, name := range sdkLogs {
		if got := os.Getenv(name); got != "" {
			t.Errorf("with TF_LOG=DEBUG, %s = %q, want it left as the user set it", name, got)
		}
	}
}
