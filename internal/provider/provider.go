// Package provider implements the apimall Terraform provider and its resources.
package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
	"github.com/apimall/terraform-provider-apimall/internal/validators"
)

// Address is the provider's registry address, which Terraform and OpenTofu use to find it.
const Address = "registry.terraform.io/apimall/apimall"

// Environment variables read when the matching provider attribute is not set.
const (
	envAPIKey                   = "APIMALL_API_KEY"
	envBaseURL                  = "APIMALL_BASE_URL"
	envMaxRetries               = "APIMALL_MAX_RETRIES"
	defaultMaxRetries           = 4
	defaultMaxConcurrentUploads = 0
)

var _ provider.Provider = (*apimallProvider)(nil)

// New returns a constructor of the provider, which NewServer serves.
func New(version, commit string) func() provider.Provider {
	return func() provider.Provider {
		return &apimallProvider{version: version, commit: commit}
	}
}

type apimallProvider struct {
	version string
	commit  string
}

func (p *apimallProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "apimall"
	resp.Version = p.version
}

func (p *apimallProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Copies public image, video and audio files into [API Mall](https://www.apimall.ai) managed storage " +
			"and keeps their hosted URLs in state.",
		Attributes: map[string]schema.Attribute{
			"api_key": schema.StringAttribute{
				MarkdownDescription: "API Mall API key, sent as a bearer token. Falls back to the `" + envAPIKey + "` environment variable. " +
					"Only creating a file needs it; refresh, import and plan-time checks do not.",
				Optional:  true,
				Sensitive: true,
			},
			"base_url": schema.StringAttribute{
				MarkdownDescription: "Base URL of the API Mall gateway. Falls back to the `" + envBaseURL + "` environment variable, then `" +
					apimall.DefaultBaseURL + "`. Must be an absolute `https://` URL; `http://` is accepted only for loopback hosts " +
					"(`localhost`, `127.0.0.0/8`, `[::1]`), so the API key never crosses a network in clear text. A path prefix is kept.",
				Optional:   true,
				Validators: []validator.String{validators.BaseURL()},
			},
			"max_retries": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("How many times a failed request is retried (rate limits, 5xx answers, network errors), "+
					"with exponential backoff and jitter, honouring `Retry-After`. Falls back to `%s`, then %d. Between 0 and %d.",
					envMaxRetries, defaultMaxRetries, apimall.MaxMaxRetries),
				Optional:   true,
				Validators: []validator.Int64{int64validator.Between(0, apimall.MaxMaxRetries)},
			},
			"max_concurrent_uploads": schema.Int64Attribute{
				MarkdownDescription: "The most uploads this provider instance runs at once, shared by all its resources. " +
					"`0` (the default) leaves the bound to Terraform's `-parallelism`. Set it for accounts whose concurrency limit " +
					"answers 429 \"too many concurrent jobs\".",
				Optional:   true,
				Validators: []validator.Int64{int64validator.AtLeast(0)},
			},
		},
	}
}

type providerModel struct {
	APIKey               types.String `tfsdk:"api_key"`
	BaseURL              types.String `tfsdk:"base_url"`
	MaxRetries           types.Int64  `tfsdk:"max_retries"`
	MaxConcurrentUploads types.Int64  `tfsdk:"max_concurrent_uploads"`
}

// providerData is what resources receive from Configure.
type providerData struct {
	client *apimall.Client
	// apiKeyState tells resources whether an upload can be made, so that a missing key is
	// reported only by an operation that needs it, and an unknown one waits for apply.
	apiKeyState apiKeyState
}

type apiKeyState int

const (
	apiKeySet apiKeyState = iota
	apiKeyMissing
	apiKeyUnknown
)

func (p *apimallProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	// The commit tells a bug report's log apart from another build of the same version.
	tflog.Info(ctx, "configuring the apimall provider", map[string]any{"version": p.version, "commit": p.commit, "cli_version": req.TerraformVersion})
	var config providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}

	data := &providerData{}
	apiKey := ""
	switch {
	case config.APIKey.IsUnknown():
		data.apiKeyState = apiKeyUnknown
	case !config.APIKey.IsNull():
		apiKey = config.APIKey.ValueString()
	default:
		apiKey = os.Getenv(envAPIKey)
	}
	// A key pasted from a file often carries a trailing newline, which would make every request a 401.
	apiKey = strings.TrimSpace(apiKey)
	if apiKey == "" && data.apiKeyState != apiKeyUnknown {
		data.apiKeyState = apiKeyMissing
	}

	baseURL := apimall.DefaultBaseURL
	switch {
	case config.BaseURL.IsUnknown():
		// Resolved at apply time; until then no API request is made (the HEAD checks of
		// hosted files and sources do not use the base URL).
	case !config.BaseURL.IsNull():
		baseURL = config.BaseURL.ValueString()
	case os.Getenv(envBaseURL) != "":
		baseURL = os.Getenv(envBaseURL)
		if err := apimall.ValidateBaseURL(baseURL); err != nil {
			resp.Diagnostics.Append(invalidBaseURLEnvDiagnostic(err))
			return
		}
	}

	maxRetries := int64(defaultMaxRetries)
	switch {
	case !config.MaxRetries.IsNull() && !config.MaxRetries.IsUnknown():
		maxRetries = config.MaxRetries.ValueInt64()
	case os.Getenv(envMaxRetries) != "":
		raw := os.Getenv(envMaxRetries)
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || n < 0 || n > apimall.MaxMaxRetries {
			resp.Diagnostics.Append(invalidMaxRetriesEnvDiagnostic(raw))
			return
		}
		maxRetries = n
	}

	maxConcurrent := int64(defaultMaxConcurrentUploads)
	if !config.MaxConcurrentUploads.IsNull() && !config.MaxConcurrentUploads.IsUnknown() {
		maxConcurrent = config.MaxConcurrentUploads.ValueInt64()
	}

	client, err := apimall.New(apimall.Config{
		BaseURL:              baseURL,
		APIKey:               apiKey,
		MaxRetries:           int(maxRetries),
		MaxConcurrentUploads: int(maxConcurrent),
		UserAgent:            userAgent(p.version, req.TerraformVersion),
	})
	if err != nil {
		resp.Diagnostics.Append(clientConfigDiagnostic(err))
		return
	}
	data.client = client
	resp.ResourceData = data
}

func (p *apimallProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{NewRemoteFileResource}
}

func (p *apimallProvider) DataSources(context.Context) []func() datasource.DataSource {
	return nil
}

// userAgent names the CLI as well as the provider, so that API Mall support can tell
// Terraform traffic from OpenTofu traffic.
func userAgent(providerVersion, cliVersion string) string {
	if cliVersion == "" {
		cliVersion = "unknown"
	}
	return fmt.Sprintf("terraform-provider-apimall/%s %s/%s", providerVersion, cliName(), cliVersion)
}

// cliName tells OpenTofu from Terraform. The plugin protocol sends only a version number, so
// the provider looks at the program that started it; where that cannot be read, it says Terraform.
func cliName() string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", os.Getppid()))
	if err == nil && strings.Contains(filepath.Base(exe), "tofu") {
		return "OpenTofu"
	}
	return "Terraform"
}
