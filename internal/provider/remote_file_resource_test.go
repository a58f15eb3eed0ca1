package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
	"github.com/apimall/terraform-provider-apimall/internal/fakeapimall"
)

const (
	catURL   = "https://assets.example.com/cat.png"
	clipURL  = "https://assets.example.com/clip.mp4"
	chimeURL = "https://assets.example.com/chime.wav"
	pageURL  = "https://assets.example.com/index.html"
	res      = "apimall_remote_file.test"
)

var (
	requestIDPattern = regexp.MustCompile(`^req_[0-9A-HJKMNP-TV-Z]{26}$`)
	keyPattern       = regexp.MustCompile(`^uploads/\d{4}/\d{2}/\d{2}/.+`)
)

func remoteFileConfig(srv *fakeapimall.Server, body string, providerExtra ...string) string {
	return providerConfig(srv, providerExtra...) + fmt.Sprintf(`
resource "apimall_remote_file" "test" {
%s
}
`, body)
}

// cliError matches a diagnostic as the CLI prints it: it wraps long lines, so a space in the
// pattern matches any run of white space, and . matches a line break.
func cliError(pattern string) *regexp.Regexp {
	return regexp.MustCompile("(?s)" + strings.ReplaceAll(pattern, " ", `\s+`))
}

func fixtureSize(t *testing.T, url string) int64 {
	t.Helper()
	f, ok := fakeapimall.DemoFixtures()[url]
	if !ok {
		t.Fatalf("no demo fixture %s", url)
	}
	return int64(len(f.Body))
}

// checkGateway turns an assertion on the fake gateway into a step check.
func checkGateway(check func() error) resource.TestCheckFunc {
	return func(*terraform.State) error { return check() }
}

func expectStoredUploads(srv *fakeapimall.Server, want int) resource.TestCheckFunc {
	return checkGateway(func() error {
		if got := srv.StoredUploads(); got != want {
			return fmt.Errorf("gateway stored %d uploads, want %d", got, want)
		}
		return nil
	})
}

func TestAccRemoteFile_CreateDetectedType(t *testing.T) {
	srv := testAccGateway(t, nil)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(res, tfjsonpath.New("url"), knownvalue.StringRegexp(regexp.MustCompile("^"+regexp.QuoteMeta(srv.URL())+`/uploads/\d{4}/\d{2}/\d{2}/cat\.png$`))),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("key"), knownvalue.StringRegexp(keyPattern)),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("image/png")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(fixtureSize(t, catURL))),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("request_id"), knownvalue.StringRegexp(requestIDPattern)),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("filename"), knownvalue.Null()),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("detect_source_changes"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.Null()),
				statecheck.CompareValuePairs(res, tfjsonpath.New("id"), res, tfjsonpath.New("key"), compare.ValuesSame()),
			},
			Check: resource.ComposeTestCheckFunc(expectStoredUploads(srv, 1), checkGateway(func() error {
				for _, r := range srv.Requests() {
					if ua := r.Header.Get("User-Agent"); r.Method == http.MethodPost && !regexp.MustCompile(`^terraform-provider-apimall/test (Terraform|OpenTofu)/\d+\.\d+`).MatchString(ua) {
						return fmt.Errorf("upload sent User-Agent %q", ua)
					}
				}
				return nil
			})),
		}},
	})
}

func TestAccRemoteFile_CreateWithFilenameAndContentType(t *testing.T) {
	srv := testAccGateway(t, nil)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: remoteFileConfig(srv, fmt.Sprintf(`
  source_url   = %q
  filename     = "welcome.wav"
  content_type = "audio/x-wav"`, chimeURL)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(res, tfjsonpath.New("key"), knownvalue.StringRegexp(regexp.MustCompile(`^uploads/\d{4}/\d{2}/\d{2}/welcome\.wav$`))),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("audio/x-wav")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("filename"), knownvalue.StringExact("welcome.wav")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(fixtureSize(t, chimeURL))),
			},
			Check: checkGateway(func() error {
				objects := srv.Objects()
				if len(objects) != 1 || objects[0].ContentType != "audio/x-wav" {
					return fmt.Errorf("gateway stored %+v, want one audio/x-wav object", objects)
				}
				return nil
			}),
		}},
	})
}

// TestAccRemoteFile_Replace walks through every attribute that forces a new upload, checking
// that each one does (a new hosted URL, one more stored upload) and nothing else changes.
func TestAccRemoteFile_Replace(t *testing.T) {
	srv := testAccGateway(t, nil)
	urlChanges := statecheck.CompareValue(compare.ValuesDiffer())
	replaced := func() resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{
			PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		}
	}
	step := func(body string, uploads int, checks ...statecheck.StateCheck) resource.TestStep {
		return resource.TestStep{
			Config:            remoteFileConfig(srv, body),
			ConfigPlanChecks:  replaced(),
			ConfigStateChecks: append([]statecheck.StateCheck{urlChanges.AddStateValue(res, tfjsonpath.New("url"))}, checks...),
			Check:             expectStoredUploads(srv, uploads),
		}
	}
	first := step(fmt.Sprintf("source_url = %q", catURL), 1)
	first.ConfigPlanChecks = resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			first,
			step(fmt.Sprintf("source_url = %q\n  triggers_replace = { version = \"2\" }", catURL), 2),
			step(fmt.Sprintf("source_url = %q\n  triggers_replace = { version = \"3\" }", catURL), 3),
			step(fmt.Sprintf("source_url = %q\n  triggers_replace = { version = \"3\" }\n  filename = \"kitten.png\"", catURL), 4,
				statecheck.ExpectKnownValue(res, tfjsonpath.New("key"), knownvalue.StringRegexp(regexp.MustCompile(`^uploads/\d{4}/\d{2}/\d{2}/kitten\.png$`)))),
			step(fmt.Sprintf("source_url = %q\n  triggers_replace = { version = \"3\" }\n  filename = \"kitten.png\"\n  content_type = \"image/x-png\"", catURL), 5,
				statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("image/x-png"))),
			step(fmt.Sprintf("source_url = %q\n  triggers_replace = { version = \"3\" }\n  filename = \"kitten.mp4\"\n  content_type = \"video/mp4\"", clipURL), 6,
				statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(fixtureSize(t, clipURL)))),
		},
	})
}

func TestAccRemoteFile_DriftDeletedObjectIsCreatedAgain(t *testing.T) {
	srv := testAccGateway(t, nil)
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL))
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config, Check: expectStoredUploads(srv, 1)},
			{
				PreConfig: func() {
					for _, o := range srv.Objects() {
						if !srv.DeleteObject(o.Key) {
							t.Fatalf("could not delete %s from the gateway", o.Key)
						}
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectStoredUploads(srv, 2),
			},
		},
	})
}

func TestAccRemoteFile_HostedCheckFailingKeepsState(t *testing.T) {
	srv := testAccGateway(t, nil)
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL), "max_retries = 0")
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { srv.FailHostedNext(100, fakeapimall.Fault{Status: http.StatusInternalServerError}) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(fixtureSize(t, catURL))),
				},
				Check: expectStoredUploads(srv, 1),
			},
		},
	})
}

// uploadOutsideTerraform stores the cat picture through the gateway's own API, as another tool
// would, and returns its hosted URL.
func uploadOutsideTerraform(t *testing.T, srv *fakeapimall.Server) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/files/from-url", strings.NewReader(`{"url":"`+catURL+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.APIKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	objects := srv.Objects()
	if resp.StatusCode != http.StatusOK || len(objects) != 1 {
		t.Fatalf("upload outside Terraform: status %d, %d objects", resp.StatusCode, len(objects))
	}
	return srv.URL() + "/" + objects[0].Key
}

// adoptSteps follow an import: applying the configuration adopts the object in place, with no
// upload, and then a new source replaces it as usual.
func adoptSteps(t *testing.T, srv *fakeapimall.Server) []resource.TestStep {
	t.Helper()
	return []resource.TestStep{
		{
			Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: adoptedStateChecks(t),
			Check:             expectStoredUploads(srv, 1),
		},
		replaceAfterAdoptStep(srv),
	}
}

func adoptedStateChecks(t *testing.T) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(res, tfjsonpath.New("source_url"), knownvalue.StringExact(catURL)),
		statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("image/png")),
		statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(fixtureSize(t, catURL))),
		statecheck.ExpectKnownValue(res, tfjsonpath.New("request_id"), knownvalue.Null()),
	}
}

func replaceAfterAdoptStep(srv *fakeapimall.Server) resource.TestStep {
	return resource.TestStep{
		Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", clipURL)),
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
		},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("video/mp4")),
			statecheck.ExpectKnownValue(res, tfjsonpath.New("request_id"), knownvalue.StringRegexp(requestIDPattern)),
		},
		Check: expectStoredUploads(srv, 2),
	}
}

func TestAccRemoteFile_ImportCommandThenAdopt(t *testing.T) {
	srv := testAccGateway(t, nil)
	hostedURL := uploadOutsideTerraform(t, srv)
	importStep := resource.TestStep{
		Config:             remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)),
		ResourceName:       res,
		ImportState:        true,
		ImportStateId:      hostedURL,
		ImportStatePersist: true,
		ImportStateCheck: func(states []*terraform.InstanceState) error {
			if len(states) != 1 {
				return fmt.Errorf("imported %d objects, want 1", len(states))
			}
			attrs := states[0].Attributes
			want := map[string]string{"url": hostedURL, "content_type": "image/png", "file_size": fmt.Sprint(fixtureSize(t, catURL))}
			for k, v := range want {
				if attrs[k] != v {
					return fmt.Errorf("imported %s = %q, want %q", k, attrs[k], v)
				}
			}
			if attrs["id"] != attrs["key"] || !strings.HasSuffix(hostedURL, "/"+attrs["key"]) || !keyPattern.MatchString(attrs["key"]) {
				return fmt.Errorf("imported key %q and id %q, want the storage key of %s", attrs["key"], attrs["id"], hostedURL)
			}
			return nil
		},
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps:                    append([]resource.TestStep{importStep}, adoptSteps(t, srv)...),
	})
}

func TestAccRemoteFile_ImportBlockAdoptsInPlace(t *testing.T) {
	srv := testAccGateway(t, nil)
	hostedURL := uploadOutsideTerraform(t, srv)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{
				Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)) + fmt.Sprintf(`
import {
  to = %s
  id = %q
}
`, res, hostedURL),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(adoptedStateChecks(t),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("url"), knownvalue.StringExact(hostedURL))),
				Check: expectStoredUploads(srv, 1),
			},
			replaceAfterAdoptStep(srv),
		},
	})
}

// Adoption covers every attribute whose change would otherwise replace: the first apply after
// an import that sets them all is still an in-place update with no upload.
func TestAccRemoteFile_ImportAdoptsWithEveryReplacingAttributeSet(t *testing.T) {
	srv := testAccGateway(t, nil)
	hostedURL := uploadOutsideTerraform(t, srv)
	body := fmt.Sprintf("source_url = %q\n  filename = \"hero.png\"\n  content_type = \"image/png\"\n  triggers_replace = { release = \"1\" }", catURL)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_5_0)},
		Steps: []resource.TestStep{
			{
				Config: remoteFileConfig(srv, body) + fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n", res, hostedURL),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(adoptedStateChecks(t),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("filename"), knownvalue.StringExact("hero.png")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("triggers_replace"), knownvalue.MapExact(map[string]knownvalue.Check{"release": knownvalue.StringExact("1")})),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("url"), knownvalue.StringExact(hostedURL))),
				Check: expectStoredUploads(srv, 1),
			},
			{
				// Adopted: from now on a change replaces as usual.
				Config: remoteFileConfig(srv, strings.Replace(body, `release = "1"`, `release = "2"`, 1)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				Check: expectStoredUploads(srv, 2),
			},
		},
	})
}

func TestAccRemoteFile_InvalidImportID(t *testing.T) {
	srv := testAccGateway(t, nil)
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL))
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				Config:        config,
				ResourceName:  res,
				ImportState:   true,
				ImportStateId: "cdn.apimall.ai/uploads/2026/03/12/reference-image.png",
				ExpectError: cliError(`Invalid import ID .*"cdn.apimall.ai/uploads/2026/03/12/reference-image.png" is not an absolute http\(s\) URL\. ` +
					`Expected the hosted URL of a stored file`),
			},
		},
	})
}

// Changing only the timeouts is an in-place update that uploads nothing.
func TestAccRemoteFile_TimeoutsChangeIsAnInPlaceUpdate(t *testing.T) {
	srv := testAccGateway(t, nil)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)), Check: expectStoredUploads(srv, 1)},
			{
				Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q\n  timeouts {\n    create = \"20m\"\n    read = \"30s\"\n  }", catURL)),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("timeouts").AtMapKey("create"), knownvalue.StringExact("20m")),
				},
				Check: expectStoredUploads(srv, 1),
			},
		},
	})
}

// TestAccRemoteFile_ImportByIdentity needs a CLI with resource identity (Terraform or OpenTofu 1.12+).
func TestAccRemoteFile_ImportByIdentity(t *testing.T) {
	srv := testAccGateway(t, nil)
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL))
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentityValueMatchesState(res, tfjsonpath.New("url")),
				},
			},
			{
				Config:          config,
				ResourceName:    res,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithResourceIdentity,
				// The import is adopted by an in-place update, never a new upload.
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
			},
		},
	})
}

// TestAccRemoteFile_APIErrors checks the message a user reads for each documented failure.
func TestAccRemoteFile_APIErrors(t *testing.T) {
	html := []byte("<html><head><title>502 Bad Gateway</title></head><body>upstream timed out</body></html>")
	cases := map[string]struct {
		source       string
		apiKey       string
		maxRetries   int
		fault        *fakeapimall.Fault
		faults       int
		wantError    string
		wantAttempts int
	}{
		"400 with details": {
			source:       "https://assets.example.com/missing.png",
			wantError:    `API Mall answered 400 invalid_request: Failed to fetch source url \(details: status=404\)\. Request ID: req_[0-9A-Z]{26}`,
			wantAttempts: 1,
		},
		"400 refused type": {
			source:       pageURL,
			wantError:    `API Mall answered 400 invalid_request: .*text/html`,
			wantAttempts: 1,
		},
		"401": {
			source:       catURL,
			apiKey:       "not-the-key",
			wantError:    `API Mall answered 401 unauthorized: Invalid API key\. Request ID: req_[0-9A-Z]{26} Check the API key: api_key in the provider block, or the APIMALL_API_KEY environment variable\.`,
			wantAttempts: 1,
		},
		"403": {
			source:       catURL,
			fault:        &fakeapimall.Fault{Status: http.StatusForbidden},
			faults:       1,
			wantError:    `API Mall answered 403 forbidden: Forbidden\. Request ID: req_[0-9A-Z]{26} API access is not approved for this account yet, or base_url does not point at the API Mall gateway host\.`,
			wantAttempts: 1,
		},
		"500 exhausting max_retries": {
			source:       catURL,
			maxRetries:   2,
			fault:        &fakeapimall.Fault{Status: http.StatusInternalServerError},
			faults:       100,
			wantError:    `API Mall answered 500 internal_error: Internal Server Error\. Request ID: req_[0-9A-Z]{26} The service failed after 3 attempts; try again later, or raise max_retries\.`,
			wantAttempts: 3,
		},
		"502 HTML page": {
			source:       catURL,
			fault:        &fakeapimall.Fault{Status: http.StatusBadGateway, Body: html, ContentType: "text/html"},
			faults:       100,
			wantError:    `API Mall answered 502 with a body that is not its JSON envelope: "<html><head><title>502 Bad Gateway</title></head><body>upstream timed out</body></html>"\. Request ID: req_[0-9A-Z]{26} The service failed after 1 attempt;`,
			wantAttempts: 1,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv := testAccGateway(t, nil)
			if tc.fault != nil {
				srv.FailNext(tc.faults, *tc.fault)
			}
			key := srv.APIKey()
			if tc.apiKey != "" {
				key = tc.apiKey
			}
			config := fmt.Sprintf(`
provider "apimall" {
  base_url    = %q
  api_key     = %q
  max_retries = %d
}

resource "apimall_remote_file" "test" {
  source_url = %q
}
`, srv.URL(), key, tc.maxRetries, tc.source)
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      config,
					ExpectError: cliError(`Upload from URL failed(.|\n)*` + tc.wantError),
				}},
			})
			if got := srv.UploadAttempts(); tc.wantAttempts != 0 && got != tc.wantAttempts {
				t.Errorf("gateway saw %d upload attempts, want %d", got, tc.wantAttempts)
			}
			if got := srv.StoredUploads(); got != 0 {
				t.Errorf("gateway stored %d uploads, want none", got)
			}
		})
	}
}

func TestAccRemoteFile_RateLimitedThenSucceeds(t *testing.T) {
	srv := testAccGateway(t, nil)
	srv.FailNext(1, fakeapimall.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	start := time.Now()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: remoteFileConfig(srv, fmt.Sprintf("source_url = %q", catURL)),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(res, tfjsonpath.New("content_type"), knownvalue.StringExact("image/png")),
			},
			Check: resource.ComposeTestCheckFunc(expectStoredUploads(srv, 1), checkGateway(func() error {
				if got := srv.UploadAttempts(); got != 2 {
					return fmt.Errorf("gateway saw %d upload attempts, want 2 (429, then success)", got)
				}
				if waited := time.Since(start); waited < time.Second {
					return fmt.Errorf("the retry came after %s, before the 1s Retry-After", waited)
				}
				return nil
			})),
		}},
	})
}

func TestAccRemoteFile_CreateTimeout(t *testing.T) {
	srv := testAccGateway(t, nil)
	srv.SetLatency(5 * time.Second)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      remoteFileConfig(srv, fmt.Sprintf("source_url = %q\n  timeouts { create = \"1s\" }", catURL)),
			ExpectError: cliError(`Upload from URL failed(.|\n)*The upload could not finish within the create timeout of 1s`),
		}},
	})
}

func TestAccRemoteFile_MaxConcurrentUploads(t *testing.T) {
	srv := testAccGateway(t, nil)
	srv.SetLatency(300 * time.Millisecond)
	config := providerConfig(srv, "max_concurrent_uploads = 2") + fmt.Sprintf(`
resource "apimall_remote_file" "test" {
  count      = 10
  source_url = %q
  filename   = "cat-${count.index}.png"
}
`, catURL)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeTestCheckFunc(expectStoredUploads(srv, 10), checkGateway(func() error {
				if got := srv.MaxInFlightUploads(); got != 2 {
					return fmt.Errorf("gateway saw at most %d uploads at once, want exactly 2", got)
				}
				return nil
			})),
		}},
	})
}

func TestAccRemoteFile_PlanTimeValidation(t *testing.T) {
	cases := map[string]struct {
		body      string
		wantError string
	}{
		"ftp scheme":           {`source_url = "ftp://assets.example.com/cat.png"`, `scheme`},
		"relative url":         {`source_url = "/cat.png"`, `absolute`},
		"user info":            {`source_url = "https://user:pass@assets.example.com/cat.png"`, `user`},
		"loopback":             {`source_url = "http://127.0.0.1/cat.png"`, `loopback`},
		"decimal loopback":     {`source_url = "http://2130706433/cat.png"`, `127\.0\.0\.1`},
		"hex loopback":         {`source_url = "http://0x7f.1/cat.png"`, `127\.0\.0\.1`},
		"octal loopback":       {`source_url = "http://0177.0.0.1/cat.png"`, `127\.0\.0\.1`},
		"short loopback":       {`source_url = "http://127.1/cat.png"`, `127\.0\.0\.1`},
		"mapped loopback":      {`source_url = "http://[::ffff:127.0.0.1]/cat.png"`, `127\.0\.0\.1`},
		"private":              {`source_url = "https://10.1.2.3/cat.png"`, `private`},
		"link-local":           {`source_url = "http://169.254.169.254/latest/meta-data"`, `link-local`},
		"cgnat":                {`source_url = "http://100.64.0.1/cat.png"`, `(?i)carrier-grade NAT`},
		"ula":                  {`source_url = "http://[fd00::1]/cat.png"`, `(?i)unique local`},
		"ipv6 zone":            {`source_url = "http://[fe80::1%25eth0]/cat.png"`, `(?i)zone`},
		"localhost":            {`source_url = "http://localhost/cat.png"`, `localhost`},
		"sub.localhost":        {`source_url = "http://cdn.localhost./cat.png"`, `localhost`},
		"filename slash":       {`source_url = "https://assets.example.com/cat.png"` + "\n" + `filename = "a/b.png"`, `filename`},
		"filename dotdot":      {`source_url = "https://assets.example.com/cat.png"` + "\n" + `filename = ".."`, `filename`},
		"filename empty":       {`source_url = "https://assets.example.com/cat.png"` + "\n" + `filename = ""`, `filename`},
		"content type text":    {`source_url = "https://assets.example.com/cat.png"` + "\n" + `content_type = "text/html"`, `image, video or audio|image/\*`},
		"content type garbage": {`source_url = "https://assets.example.com/cat.png"` + "\n" + `content_type = "png"`, `media type`},
	}
	srv := testAccGateway(t, nil)
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      remoteFileConfig(srv, tc.body),
					PlanOnly:    true,
					ExpectError: cliError(tc.wantError),
				}},
			})
		})
	}
	if got := srv.UploadAttempts(); got != 0 {
		t.Errorf("invalid configurations reached the gateway %d times", got)
	}
}

func TestAccProvider_ConfigurationErrors(t *testing.T) {
	srv := testAccGateway(t, nil)
	resourceBlock := fmt.Sprintf("\nresource \"apimall_remote_file\" \"test\" {\n  source_url = %q\n}\n", catURL)
	cases := map[string]struct {
		config    string
		wantError string
	}{
		"plain http to a remote host": {
			`provider "apimall" {
  base_url = "http://gateway.apimall.ai"
  api_key  = "k"
}` + resourceBlock,
			`Invalid base URL .*uses plain http:// to a host that is not loopback`,
		},
		"max_retries out of range": {
			fmt.Sprintf("provider \"apimall\" {\n  base_url = %q\n  api_key = \"k\"\n  max_retries = 11\n}\n", srv.URL()) + resourceBlock,
			`between 0 and 10`,
		},
		"negative max_concurrent_uploads": {
			fmt.Sprintf("provider \"apimall\" {\n  base_url = %q\n  api_key = \"k\"\n  max_concurrent_uploads = -1\n}\n", srv.URL()) + resourceBlock,
			`at least 0`,
		},
		"missing api key": {
			fmt.Sprintf("provider \"apimall\" {\n  base_url = %q\n}\n", srv.URL()) + resourceBlock,
			`Missing API Mall API key(.|\n)*api_key(.|\n)*APIMALL_API_KEY`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resource.ParallelTest(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: tc.config, PlanOnly: true, ExpectError: cliError(tc.wantError)}},
			})
		})
	}
	if got := srv.UploadAttempts(); got != 0 {
		t.Errorf("invalid provider configurations reached the gateway %d times", got)
	}
}

// The environment variables configure what the provider block leaves out, and lose to what it
// sets. Not parallel: the variables belong to the whole process.
func TestAccProvider_EnvironmentFallbacks(t *testing.T) {
	srv := testAccGateway(t, nil)
	resourceBlock := fmt.Sprintf("\nresource \"apimall_remote_file\" \"test\" {\n  source_url = %q\n}\n", catURL)
	t.Run("environment alone", func(t *testing.T) {
		t.Setenv(envBaseURL, srv.URL())
		t.Setenv(envAPIKey, srv.APIKey())
		t.Setenv(envMaxRetries, "0")
		srv.FailNext(1, fakeapimall.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0"})
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []resource.TestStep{{
				Config:      `provider "apimall" {}` + resourceBlock,
				ExpectError: cliError(`Upload from URL failed .*API Mall answered 503`),
			}, {
				// The failure above was APIMALL_MAX_RETRIES=0 at work; without a fault it uploads.
				Config: `provider "apimall" {}` + resourceBlock,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("url"), knownvalue.StringRegexp(regexp.MustCompile("^"+regexp.QuoteMeta(srv.URL())+"/"))),
				},
			}},
		})
	})
	t.Run("the provider block wins", func(t *testing.T) {
		t.Setenv(envBaseURL, "https://gateway.invalid")
		t.Setenv(envAPIKey, "not-the-key")
		t.Setenv(envMaxRetries, "0")
		srv.FailNext(1, fakeapimall.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0"})
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []resource.TestStep{{
				Config: providerConfig(srv, "max_retries = 1") + resourceBlock,
				Check:  expectStoredUploads(srv, 2),
			}},
		})
	})
	for name, tc := range map[string]struct{ variable, value, want string }{
		"invalid APIMALL_BASE_URL": {envBaseURL, "http://gateway.apimall.ai",
			`Invalid APIMALL_BASE_URL .*The APIMALL_BASE_URL environment variable is not usable: base URL "http://gateway.apimall.ai" uses plain http://`},
		"invalid APIMALL_MAX_RETRIES": {envMaxRetries, "eleven",
			`Invalid APIMALL_MAX_RETRIES .*The APIMALL_MAX_RETRIES environment variable is "eleven"; expected a whole number between 0 and 10`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(tc.variable, tc.value)
			t.Setenv(envAPIKey, "k")
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps:                    []resource.TestStep{{Config: `provider "apimall" {}` + resourceBlock, PlanOnly: true, ExpectError: cliError(tc.want)}},
			})
		})
	}
}

// An api_key that is only known at apply time (here the output of another resource) does not
// stop the plan; the upload uses it once it is known.
func TestAccProvider_UnknownAPIKeyAtPlan(t *testing.T) {
	srv := testAccGateway(t, nil)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_4_0)},
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "terraform_data" "key" {
  input = %q
}

provider "apimall" {
  base_url = %q
  api_key  = terraform_data.key.output
}

resource "apimall_remote_file" "test" {
  source_url = %q
}
`, srv.APIKey(), srv.URL(), catURL),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(res, tfjsonpath.New("key"), knownvalue.StringRegexp(keyPattern)),
			},
			Check: expectStoredUploads(srv, 1),
		}},
	})
}

// TestAccProvider_NoKeyNoResources shows that a configuration with nothing to upload plans
// fine without an API key: only an upload needs one.
func TestAccProvider_NoKeyNoResources(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:             `provider "apimall" {}` + "\n" + `output "nothing" { value = "ok" }`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}

// TestAccRemoteFile_KeyNeverLeaks runs a create with a retry under TF_LOG=TRACE, with the key
// in the environment and then in the provider block (from a variable), and looks for it in everything Terraform
// and the provider wrote: logs and state.
func TestAccRemoteFile_KeyNeverLeaks(t *testing.T) {
	for _, keyInConfig := range []bool{false, true} {
		t.Run(fmt.Sprintf("key in config %v", keyInConfig), func(t *testing.T) {
			srv := testAccGateway(t, nil)
			srv.FailNext(1, fakeapimall.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "0"})
			logPath := filepath.Join(t.TempDir(), "trace.log")
			t.Setenv("TF_LOG", "TRACE")
			t.Setenv("TF_ACC_LOG_PATH", logPath)
			providerBlock := fmt.Sprintf("provider \"apimall\" {\n  base_url = %q\n}\n", srv.URL())
			if keyInConfig {
				// Through a variable, since the test harness logs the configuration text itself.
				t.Setenv("TF_VAR_apimall_api_key", srv.APIKey())
				providerBlock = fmt.Sprintf("variable \"apimall_api_key\" {\n  type      = string\n  sensitive = true\n}\n\n"+
					"provider \"apimall\" {\n  base_url = %q\n  api_key  = var.apimall_api_key\n}\n", srv.URL())
			} else {
				t.Setenv(envAPIKey, srv.APIKey())
			}
			var stateDump string
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config: providerBlock + fmt.Sprintf("\nresource \"apimall_remote_file\" \"test\" {\n  source_url = %q\n}\n", catURL),
					Check: func(s *terraform.State) error {
						stateDump = s.String()
						return nil
					},
				}},
			})
			logs, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(logs), "apimall_client") || !strings.Contains(string(logs), "/api/v1/files/from-url") ||
				srv.UploadAttempts() != 2 {
				t.Fatalf("the trace log (%d bytes) has no apimall_client request lines, or no retry happened; the test would prove nothing", len(logs))
			}
			for what, text := range map[string]string{"trace log": string(logs), "state": stateDump} {
				if i := strings.Index(text, srv.APIKey()); i >= 0 {
					t.Errorf("the API key appears in the %s: %s", what, text[max(0, i-600):min(len(text), i+100)])
				}
			}
		})
	}
}

const logoURL = "http://media.example.org/logo.png"

// logoFixture is a picture whose validators the tests change to play a new file behind the same URL.
func logoFixture(t *testing.T, etag, lastModified string, extraBytes int) fakeapimall.Fixture {
	t.Helper()
	body := append([]byte{}, fakeapimall.DemoFixtures()[catURL].Body...)
	body = append(body, make([]byte, extraBytes)...)
	header := http.Header{"Content-Type": {"image/png"}}
	if etag != "" {
		header.Set("ETag", etag)
	}
	if lastModified != "" {
		header.Set("Last-Modified", lastModified)
	}
	return fakeapimall.Fixture{Header: header, Body: body}
}

// detectGateway serves logoURL to the provider through the gateway's forward proxy, so that the
// provider's own HEAD requests to the source stay offline and are counted.
func detectGateway(t *testing.T, first fakeapimall.Fixture) *fakeapimall.Server {
	t.Helper()
	srv := testAccGateway(t, map[string]fakeapimall.Fixture{logoURL: first})
	t.Setenv("HTTP_PROXY", srv.ProxyURL())
	t.Setenv("http_proxy", srv.ProxyURL())
	return srv
}

func TestAccRemoteFile_DetectSourceChanges(t *testing.T) {
	const (
		monday  = "Mon, 23 Nov 2026 10:00:00 GMT"
		tuesday = "Tue, 24 Nov 2026 10:00:00 GMT"
	)
	srv := detectGateway(t, logoFixture(t, `"v1"`, monday, 0))
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q\n  detect_source_changes = true", logoURL), "max_retries = 0")
	size := fixtureSize(t, catURL)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v1"`)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(size)),
				},
				Check: expectStoredUploads(srv, 1),
			},
			{
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v2"`, tuesday, 100)) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v2"`)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("file_size"), knownvalue.Int64Exact(size+100)),
				},
				Check: expectStoredUploads(srv, 2),
			},
			{
				// A new Last-Modified with the same strong ETag is the same file.
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v2"`, "Wed, 25 Nov 2026 10:00:00 GMT", 100)) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: expectStoredUploads(srv, 2),
			},
			{
				// A source that cannot be checked is never a reason to upload again.
				PreConfig: func() {
					f := logoFixture(t, `"v3"`, "", 0)
					f.Status = http.StatusInternalServerError
					srv.SetFixture(logoURL, f)
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v2"`)),
				},
				Check: expectStoredUploads(srv, 2),
			},
			{
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v2"`, "", 100)) },
				Config:    remoteFileConfig(srv, fmt.Sprintf("source_url = %q\n  detect_source_changes = false", logoURL), "max_retries = 0"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.Null()),
				},
				Check: expectStoredUploads(srv, 2),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v2"`)),
				},
				Check: expectStoredUploads(srv, 2),
			},
		},
	})
}

// A source whose check fails at create (here it refuses HEAD but serves GET, so the upload
// works) gets its fingerprint recorded by the first refresh that reaches it, without an update
// or an upload; changes are detected from then on.
func TestAccRemoteFile_DetectSourceChangesRecordsAfterAFailedCheck(t *testing.T) {
	refusesHead := logoFixture(t, `"v1"`, "", 0)
	refusesHead.HeadStatus = http.StatusMethodNotAllowed
	srv := detectGateway(t, refusesHead)
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q\n  detect_source_changes = true", logoURL), "max_retries = 0")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact("")),
				},
				Check: expectStoredUploads(srv, 1),
			},
			{
				// The refresh records it: no update, no upload.
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v1"`, "", 0)) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v1"`)),
				},
				Check: expectStoredUploads(srv, 1),
			},
			{
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v2"`, "", 10)) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("source_fingerprint"), knownvalue.StringExact(`etag:"v2"`)),
				},
				Check: expectStoredUploads(srv, 2),
			},
		},
	})
}

func TestAccRemoteFile_DetectSourceChangesOffSendsNothingToSource(t *testing.T) {
	srv := detectGateway(t, logoFixture(t, `"v1"`, "", 0))
	config := remoteFileConfig(srv, fmt.Sprintf("source_url = %q", logoURL))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() { srv.SetFixture(logoURL, logoFixture(t, `"v2"`, "", 100)) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkGateway(func() error {
					if got := srv.SourceRequests(logoURL); got != 0 {
						return fmt.Errorf("the provider sent %d requests to the source with detect_source_changes off", got)
					}
					return nil
				}),
			},
		},
	})
}

// The tests below call the resource directly rather than through a CLI, to assert on warnings,
// which terraform-plugin-testing cannot see.

// testResource returns the resource configured against srv, and empty state and identity
// values of its schema for a request.
func testResource(t *testing.T, srv *fakeapimall.Server, maxRetries int) (*remoteFileResource, tfsdk.State, *tfsdk.ResourceIdentity) {
	t.Helper()
	ctx := context.Background()
	client, err := apimall.New(apimall.Config{BaseURL: srv.URL(), APIKey: srv.APIKey(), MaxRetries: maxRetries, UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r := &remoteFileResource{data: &providerData{client: client}}
	var schemaResp fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &schemaResp)
	var identityResp fwresource.IdentitySchemaResponse
	r.IdentitySchema(ctx, fwresource.IdentitySchemaRequest{}, &identityResp)
	state := tfsdk.State{Schema: schemaResp.Schema, Raw: tftypes.NewValue(schemaResp.Schema.Type().TerraformType(ctx), nil)}
	identity := &tfsdk.ResourceIdentity{Schema: identityResp.IdentitySchema, Raw: tftypes.NewValue(identityResp.IdentitySchema.Type().TerraformType(ctx), nil)}
	return r, state, identity
}

func storedModel(srv *fakeapimall.Server, obj fakeapimall.Object, detect bool, fingerprint types.String) remoteFileModel {
	return remoteFileModel{
		SourceURL:           types.StringValue(obj.SourceURL),
		Filename:            types.StringNull(),
		ContentType:         types.StringValue(obj.ContentType),
		TriggersReplace:     types.MapNull(types.StringType),
		DetectSourceChanges: types.BoolValue(detect),
		SourceFingerprint:   fingerprint,
		URL:                 types.StringValue(srv.URL() + "/" + obj.Key),
		Key:                 types.StringValue(obj.Key),
		FileSize:            types.Int64Value(obj.Size),
		RequestID:           types.StringValue(obj.RequestID),
		ID:                  types.StringValue(obj.Key),
		Timeouts:            timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "read": types.StringType})},
	}
}

func TestRemoteFileRead_HostedCheckFailureWarnsAndKeepsState(t *testing.T) {
	srv := fakeapimall.NewTestServer(t, fakeapimall.Options{Fixtures: fakeapimall.DemoFixtures()})
	uploadOutsideTerraform(t, srv)
	obj := srv.Objects()[0]
	r, state, identity := testResource(t, srv, 0)
	ctx := context.Background()
	model := storedModel(srv, obj, false, types.StringNull())
	if diags := state.Set(ctx, &model); diags.HasError() {
		t.Fatal(diags)
	}
	srv.FailHostedNext(10, fakeapimall.Fault{Status: http.StatusInternalServerError})

	resp := fwresource.ReadResponse{State: state, Identity: identity}
	r.Read(ctx, fwresource.ReadRequest{State: state, Identity: identity}, &resp)

	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
		t.Fatalf("want exactly one warning, got %v", resp.Diagnostics)
	}
	warning := resp.Diagnostics.Warnings()[0]
	if warning.Summary() != "Could not check the hosted file" ||
		!strings.Contains(warning.Detail(), model.URL.ValueString()) || !strings.Contains(warning.Detail(), "500") {
		t.Errorf("warning %q: %q does not name the hosted URL and the status", warning.Summary(), warning.Detail())
	}
	var after remoteFileModel
	resp.State.Get(ctx, &after)
	if !after.URL.Equal(model.URL) || !after.FileSize.Equal(model.FileSize) {
		t.Errorf("state changed after a failed check: %+v", after)
	}
}

// refreshWith runs the refresh's source check for a resource that recorded fingerprint, with
// the source answering fixture, and returns what it saw and the state after it.
func refreshWith(t *testing.T, recorded string, fixture fakeapimall.Fixture, readTimeout time.Duration) (*fakeapimall.Server, remoteFileModel, string, bool, diag.Diagnostics) {
	t.Helper()
	srv := detectGateway(t, fixture)
	r, _, _ := testResource(t, srv, 0)
	obj := fakeapimall.Object{SourceURL: logoURL, ContentType: "image/png", Key: "uploads/2026/11/25/logo.png", Size: 1, RequestID: "req_01HQ9M7J7X9P7Y8T6W5V4U3S2R"}
	state := storedModel(srv, obj, true, types.StringValue(recorded))
	seen, checked, diags := r.refreshSource(context.Background(), &state, readTimeout)
	return srv, state, seen, checked, diags
}

func TestRemoteFileRefreshSource_CheckFailureWarns(t *testing.T) {
	refusesHead := logoFixture(t, `"v1"`, "", 0)
	refusesHead.HeadStatus = http.StatusMethodNotAllowed
	cases := map[string]struct {
		fixture    fakeapimall.Fixture
		wantDetail string
	}{
		"source answers 500":  {fakeapimall.Fixture{Status: http.StatusInternalServerError}, "the source answered HTTP 500 after 1 attempt"},
		"source gone":         {fakeapimall.Fixture{Status: http.StatusNotFound}, "the source answered HTTP 404 after 1 attempt"},
		"source refuses HEAD": {refusesHead, "the source answered HTTP 405 after 1 attempt"},
		"source times out":    {fakeapimall.Fixture{Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte("x"), Delay: 5 * time.Second}, "no answer within the read timeout of 300ms"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, state, _, checked, diags := refreshWith(t, `etag:"v1"`, tc.fixture, 300*time.Millisecond)
			if checked {
				t.Error("a failed check reported the source as checked: the plan would compare with nothing")
			}
			if diags.HasError() || diags.WarningsCount() != 1 {
				t.Fatalf("want exactly one warning, got %v", diags)
			}
			warning := diags.Warnings()[0]
			if warning.Summary() != "Could not check the source for changes" || !strings.Contains(warning.Detail(), logoURL) || !strings.Contains(warning.Detail(), tc.wantDetail) {
				t.Errorf("warning %q: %q, want it to name %s and say %q", warning.Summary(), warning.Detail(), logoURL, tc.wantDetail)
			}
			if state.SourceFingerprint.ValueString() != `etag:"v1"` {
				t.Errorf("the recorded fingerprint changed to %s", state.SourceFingerprint)
			}
			if srv.SourceRequests(logoURL) == 0 {
				t.Error("the refresh did not ask the source at all")
			}
		})
	}
}

// The refresh records a fingerprint that the create could not, once the source answers one.
func TestRemoteFileRefreshSource_RecordsAMissingFingerprint(t *testing.T) {
	cases := map[string]struct {
		recorded, want, wantSeen string
		fixture                  fakeapimall.Fixture
	}{
		"missing, source answers":     {"", `etag:"v1"`, `etag:"v1"`, logoFixture(t, `"v1"`, "", 0)},
		"missing, still no validator": {"", "", "", fakeapimall.Fixture{Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte("x"), NoValidators: true}},
		"recorded, source changed":    {`etag:"v0"`, `etag:"v0"`, `etag:"v1"`, logoFixture(t, `"v1"`, "", 0)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			srv, state, seen, checked, diags := refreshWith(t, tc.recorded, tc.fixture, time.Minute)
			if diags.HasError() || diags.WarningsCount() != 0 || !checked {
				t.Fatalf("want a checked source and no diagnostics, got checked=%v %v", checked, diags)
			}
			if state.SourceFingerprint.ValueString() != tc.want || seen != tc.wantSeen {
				t.Errorf("recorded %s and saw %q, want %q and %q", state.SourceFingerprint, seen, tc.want, tc.wantSeen)
			}
			if got := srv.SourceRequests(logoURL); got != 1 {
				t.Errorf("the refresh sent %d requests to the source, want 1", got)
			}
		})
	}
}

func TestPlanForSource(t *testing.T) {
	cases := map[string]struct {
		recorded, seen string
		replace        bool
		wantSummary    string // "" for no warning
		wantDetail     []string
	}{
		"same strong etag":   {`etag:"v1"`, `etag:"v1"`, false, "", nil},
		"same tag, now weak": {`etag:"v1"`, `etag:W/"v1"`, false, "", nil},
		"new etag": {`etag:"v1"`, `etag:"v2"`, true, "Source changed; planning a new upload",
			[]string{logoURL, `answered etag "v1" when it was uploaded and now answers etag "v2"`}},
		"new last-modified": {"last-modified:2026-11-23T10:00:00Z", "last-modified:2026-11-24T10:00:00Z", true, "Source changed; planning a new upload",
			[]string{"last-modified 2026-11-23T10:00:00Z", "last-modified 2026-11-24T10:00:00Z"}},
		"nothing recorded, nothing seen":   {"", "", false, "", nil},
		"nothing recorded, validator seen": {"", `etag:"v1"`, false, "", nil}, // the refresh recorded it already
		"source stopped sending its etag": {`etag:"v1"`, "last-modified:2026-11-24T10:00:00Z", false, "Could not compare the source with the recorded one",
			[]string{`etag "v1" was recorded`, "set detect_source_changes to false and apply, then back to true"}},
		"source stopped sending any validator": {`etag:"v1"`, "", false, "Could not compare the source with the recorded one",
			[]string{"now answers no validator", "cannot be detected until it answers one again"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			replace, warning := planForSource(logoURL, tc.recorded, tc.seen)
			if replace != tc.replace {
				t.Errorf("replace = %v, want %v", replace, tc.replace)
			}
			switch {
			case tc.wantSummary == "" && warning != nil:
				t.Errorf("want no warning, got %q: %q", warning.Summary(), warning.Detail())
			case tc.wantSummary != "" && (warning == nil || warning.Summary() != tc.wantSummary || warning.Severity() != diag.SeverityWarning):
				t.Fatalf("want a warning %q, got %v", tc.wantSummary, warning)
			}
			for _, want := range tc.wantDetail {
				if !strings.Contains(warning.Detail(), want) {
					t.Errorf("warning %q does not say %q", warning.Detail(), want)
				}
			}
		})
	}
}

// The source check at create is bounded by the read timeout, not by the create timeout: with
// the source answering after 1.5 s, a check cut at the read timeout leaves the upload (which
// waits for the same source) time within the create timeout, and a check that waited would not.
func TestRemoteFileCreate_SourceCheckBoundedByReadTimeout(t *testing.T) {
	slow := logoFixture(t, `"v1"`, "", 0)
	slow.Delay = 1500 * time.Millisecond
	srv := detectGateway(t, slow)
	ctx := context.Background()
	r, state, identity := testResource(t, srv, 0)
	model := storedModel(srv, fakeapimall.Object{SourceURL: catURL}, true, types.StringUnknown())
	model.ContentType, model.URL, model.Key, model.ID = types.StringUnknown(), types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	model.FileSize, model.RequestID = types.Int64Unknown(), types.StringUnknown()
	model.Timeouts = timeouts.Value{Object: types.ObjectValueMust(
		map[string]attr.Type{"create": types.StringType, "read": types.StringType},
		map[string]attr.Value{"create": types.StringValue("2500ms"), "read": types.StringValue("300ms")},
	)}
	model.SourceURL = types.StringValue(logoURL)
	plan := tfsdk.Plan{Schema: state.Schema}
	if diags := plan.Set(ctx, &model); diags.HasError() {
		t.Fatal(diags)
	}
	resp := fwresource.CreateResponse{State: state, Identity: identity}
	r.Create(ctx, fwresource.CreateRequest{Plan: plan, Config: tfsdk.Config(plan)}, &resp)
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
		t.Fatalf("want the upload made with one warning, got %v", resp.Diagnostics)
	}
	if detail := resp.Diagnostics.Warnings()[0].Detail(); !strings.Contains(detail, "no answer within the read timeout of 300ms") {
		t.Errorf("warning %q does not name the read timeout", detail)
	}
	var created remoteFileModel
	resp.State.Get(ctx, &created)
	if created.SourceFingerprint.ValueString() != "" || created.Key.ValueString() == "" {
		t.Errorf("created %+v, want a stored key and an empty fingerprint", created)
	}
}

func TestKeyFromHostedURL(t *testing.T) {
	cases := map[string]struct{ in, key, err string }{
		"cdn url":        {"https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png", "uploads/2026/03/12/reference-image.png", ""},
		"loopback":       {"http://127.0.0.1:8080/uploads/2026/03/12/a.png", "uploads/2026/03/12/a.png", ""},
		"empty":          {"", "", `"" is not a URL`},
		"no scheme":      {"cdn.apimall.ai/uploads/a.png", "", "is not an absolute http(s) URL"},
		"ftp":            {"ftp://cdn.apimall.ai/uploads/a.png", "", "is not an absolute http(s) URL"},
		"no path":        {"https://cdn.apimall.ai", "", "has no object key in its path"},
		"directory path": {"https://cdn.apimall.ai/uploads/", "", "has no object key in its path"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			key, err := keyFromHostedURL(tc.in)
			if key != tc.key || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("keyFromHostedURL(%q) = %q, %v; want %q, %q", tc.in, key, err, tc.key, tc.err)
			}
		})
	}
}

func TestRemoteFileRecordSourceFingerprint_NoValidatorsWarns(t *testing.T) {
	srv := detectGateway(t, fakeapimall.Fixture{Header: http.Header{"Content-Type": {"image/png"}}, Body: []byte("x"), NoValidators: true})
	r, _, _ := testResource(t, srv, 0)
	var diags diag.Diagnostics
	fingerprint := r.recordSourceFingerprint(context.Background(), logoURL, time.Minute, &diags)
	if fingerprint != "" {
		t.Errorf("fingerprint = %q, want empty for a source without validators", fingerprint)
	}
	if diags.HasError() || diags.WarningsCount() != 1 || diags.Warnings()[0].Summary() != "Source changes cannot be detected" ||
		!strings.Contains(diags.Warnings()[0].Detail(), logoURL) {
		t.Errorf("want one warning naming %s, got %v", logoURL, diags)
	}
}
