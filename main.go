// Command terraform-provider-apimall serves the apimall provider to Terraform and OpenTofu.
package main

import (
	"flag"
	"log"
	"os"
	"runtime/debug"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/apimall/terraform-provider-apimall/internal/provider"
)

// version and commit are set at build time by goreleaser through -ldflags.
var (
	version = "dev"
	commit  = "none"
)

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	quietUnlessLogging()
	collectGarbageLessOften()
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	if err := tf6server.Serve(provider.Address, provider.NewServer(version, commit), opts...); err != nil {
		log.Fatal(err)
	}
}

// logSettings are the variables with which a user asks Terraform or OpenTofu for logs.
var logSettings = []string{
	"TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_APIMALL",
	"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK",
}

// quietUnlessLogging turns the plugin SDK's own logs off when nobody asked for logs. Left
// unset, its loggers default to TRACE and format JSON for every call, which the CLI then
// discards: in the benchmark that was 40% of the provider's CPU time. Any log variable set
// leaves every level as the user chose.
func quietUnlessLogging() {
	for _, name := range logSettings {
		if os.Getenv(name) != "" {
			return
		}
	}
	for _, name := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"} {
		_ = os.Setenv(name, "OFF")
	}
}

// collectGarbageLessOften raises the garbage collector's target from 100% to 400% heap growth,
// unless the user set GOGC. A provider process lives for one CLI command and keeps only a few
// MiB between calls, so at 100% it collected every few MiB of request garbage: a quarter of
// its CPU time over an apply of 1000 resources, which 400% saves while the peak RSS stays near
// 40 MiB (figures in BENCHMARKS.md).
func collectGarbageLessOften() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
