package provider

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

// testAccProtoV6ProviderFactories runs the provider in the test process, so the acceptance
// tests exercise the code under test with whichever CLI TF_ACC_TERRAFORM_PATH names.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"apimall": func() (tfprotov6.ProviderServer, error) { return NewServer("test", "none")(), nil },
}

// testAccGateway starts a fake API Mall gateway for one test, with the demo fixtures plus extra.
func testAccGateway(t *testing.T, extra map[string]fakeapimall.Fixture) *fakeapimall.Server {
	t.Helper()
	fixtures := fakeapimall.DemoFixtures()
	for url, f := range extra {
		fixtures[url] = f
	}
	return fakeapimall.NewTestServer(t, fakeapimall.Options{Fixtures: fixtures})
}

// providerConfig is the provider block pointing at the fake gateway, with optional extra lines.
func providerConfig(srv *fakeapimall.Server, extra ...string) string {
	return fmt.Sprintf(`
provider "apimall" {
  base_url = %q
  api_key  = %q
  %s
}
`, srv.URL(), srv.APIKey(), strings.Join(extra, "\n  "))
}

// testAccPreCheck makes sure the environment cannot configure the provider behind a test's back.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	for _, name := range []string{envAPIKey, envBaseURL, envMaxRetries} {
		if os.Getenv(name) != "" {
			t.Fatalf("%s is set in the environment; the acceptance tests configure the provider themselves", name)
		}
	}
}

func TestUserAgent(t *testing.T) {
	got := userAgent("1.2.3", "1.11.4")
	// The test binary's parent is `go test` or a shell, never tofu.
	if got != "terraform-provider-apimall/1.2.3 Terraform/1.11.4" {
		t.Errorf("userAgent = %q", got)
	}
	if got := userAgent("dev", ""); got != "terraform-provider-apimall/dev Terraform/unknown" {
		t.Errorf("userAgent without a CLI version = %q", got)
	}
}
