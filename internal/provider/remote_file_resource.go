package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
	"github.com/apimall/terraform-provider-apimall/internal/planmodifiers"
	"github.com/apimall/terraform-provider-apimall/internal/validators"
)

var (
	_ resource.ResourceWithConfigure   = (*remoteFileResource)(nil)
	_ resource.ResourceWithImportState = (*remoteFileResource)(nil)
	_ resource.ResourceWithIdentity    = (*remoteFileResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*remoteFileResource)(nil)
)

const (
	defaultCreateTimeout = 10 * time.Minute
	defaultReadTimeout   = 2 * time.Minute

	// privateKeyAdopt marks an imported object whose configuration has not been applied yet:
	// the first apply adopts it in place instead of uploading it again.
	privateKeyAdopt = "adopt"
	// privateKeySourceSeen holds the source fingerprint the latest refresh saw (a JSON string),
	// absent when that refresh could not check the source. ModifyPlan decides from it rather
	// than from a request of its own: Terraform plans a changed resource again during apply,
	// and a second answer of the source that differed from the first would change the plan,
	// which Terraform rejects as an inconsistent final plan.
	privateKeySourceSeen = "source_seen"
)

// NewRemoteFileResource returns the apimall_remote_file resource.
func NewRemoteFileResource() resource.Resource {
	return &remoteFileResource{}
}

type remoteFileResource struct {
	data *providerData
}

func (r *remoteFileResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_remote_file"
}

func (r *remoteFileResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Copies a public image, video or audio file into API Mall managed storage " +
			"(`POST /api/v1/files/from-url`) and keeps the hosted URL in state, so other resources can reference a stable asset.\n\n" +
			"API Mall has no delete endpoint: destroying this resource removes it from state and leaves the hosted file in storage.",
		Attributes: map[string]schema.Attribute{
			"source_url": schema.StringAttribute{
				MarkdownDescription: "Publicly reachable `http://` or `https://` URL of the file to copy. Changing it uploads the new file " +
					"and replaces the resource. Checked at plan time: a host that is a non-public IP address (loopback, private, " +
					"link-local, carrier-grade NAT, unique local, in any spelling) or `localhost` is refused, as API Mall refuses it.",
				Required:      true,
				Validators:    []validator.String{validators.SourceURL()},
				PlanModifiers: []planmodifier.String{planmodifiers.StringReplaceUnlessAdopting(privateKeyAdopt)},
			},
			"filename": schema.StringAttribute{
				MarkdownDescription: "Name to store the file under instead of the one in `source_url`. 1 to 255 bytes, without `/`, `\\` " +
					"or control characters, and not `.` or `..`. Changing it replaces the resource.",
				Optional:      true,
				Validators:    []validator.String{validators.Filename()},
				PlanModifiers: []planmodifier.String{planmodifiers.StringReplaceUnlessAdopting(privateKeyAdopt)},
			},
			"content_type": schema.StringAttribute{
				MarkdownDescription: "MIME type to store the file with, overriding the one API Mall detects; its top-level type must be " +
					"`image`, `video` or `audio`. Changing a configured value replaces the resource. When not set, this is the type " +
					"API Mall detected.",
				Optional:   true,
				Computed:   true,
				Validators: []validator.String{validators.UploadContentType()},
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					planmodifiers.StringReplaceWhenConfigured(privateKeyAdopt),
				},
			},
			"triggers_replace": schema.MapAttribute{
				MarkdownDescription: "Arbitrary values that upload the file again when any of them changes, like " +
					"`terraform_data.triggers_replace`: the way to pick up new content behind an unchanged `source_url` by hand.",
				ElementType:   types.StringType,
				Optional:      true,
				PlanModifiers: []planmodifier.Map{planmodifiers.MapReplaceUnlessAdopting(privateKeyAdopt)},
			},
			"detect_source_changes": schema.BoolAttribute{
				MarkdownDescription: "When `true`, the provider records the source's `ETag`, `Last-Modified` and `Content-Length` " +
					"(an unauthenticated `HEAD` on `source_url`, never with the API key) in `source_fingerprint`, checks them again " +
					"at every plan, and plans a replacement when they changed. This costs one `HEAD` request to the source per " +
					"resource per plan. A source that cannot be checked gives a warning, never a replacement. Turning it on or off " +
					"does not upload again.",
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
			},
			"source_fingerprint": schema.StringAttribute{
				MarkdownDescription: "What `detect_source_changes` compares: the source's strong `ETag`, else its weak `ETag`, else " +
					"`Last-Modified`, else `Content-Length`. Empty when the source answered none of them, or could not be " +
					"checked at create time (the next refresh that reaches it records it); null when " +
					"`detect_source_changes` is off.",
				Computed: true,
			},
			"url": schema.StringAttribute{
				MarkdownDescription: "Hosted URL of the stored file, stable for the life of the resource.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"key": schema.StringAttribute{
				MarkdownDescription: "Storage object key, such as `uploads/2026/03/12/reference-image.png`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"file_size": schema.Int64Attribute{
				MarkdownDescription: "Size of the stored file in bytes, refreshed from the hosted URL.",
				Computed:            true,
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.UseStateForUnknown()},
			},
			"request_id": schema.StringAttribute{
				MarkdownDescription: "`request_id` of the upload that created the file, for support tickets. Null for an imported file.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"id": schema.StringAttribute{
				MarkdownDescription: "Same as `key`.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{
				Create:            true,
				Read:              true,
				CreateDescription: "How long the upload may take, all retries included (default `10m`).",
				ReadDescription:   "How long checking the hosted file or the source may take (default `2m`).",
			}),
		},
	}
}

func (r *remoteFileResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"url": identityschema.StringAttribute{
				RequiredForImport: true,
				Description:       "Hosted URL of the stored file.",
			},
		},
	}
}

func (r *remoteFileResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	// The framework calls Configure before the provider is configured too (for validation).
	if req.ProviderData == nil {
		return
	}
	data, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.Append(unexpectedProviderDataDiagnostic(req.ProviderData))
		return
	}
	r.data = data
}

func (r *remoteFileResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return // destroy, or a plan before the provider is configured
	}
	var plan remoteFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}

	if req.State.Raw.IsNull() {
		if r.data.apiKeyState == apiKeyMissing {
			resp.Diagnostics.Append(missingAPIKeyDiagnostic())
			return
		}
		if !plan.DetectSourceChanges.IsUnknown() && !plan.DetectSourceChanges.ValueBool() {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("source_fingerprint"), types.StringNull())...)
		}
		return
	}

	var state remoteFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	fingerprintPath := path.Root("source_fingerprint")
	switch {
	case plan.DetectSourceChanges.IsUnknown(), plan.SourceURL.IsUnknown():
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, fingerprintPath, types.StringUnknown())...)
	case !plan.DetectSourceChanges.ValueBool():
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, fingerprintPath, types.StringNull())...)
	case !state.DetectSourceChanges.ValueBool() || state.SourceFingerprint.IsNull() || !plan.SourceURL.Equal(state.SourceURL):
		// Recorded by the update (turning the option on) or by the replacement (new source).
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, fingerprintPath, types.StringUnknown())...)
	default:
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, fingerprintPath, state.SourceFingerprint)...)
		seen, checked, diags := sourceSeen(ctx, req.Private)
		resp.Diagnostics.Append(diags...)
		if !checked {
			return // the refresh could not check the source, and said so; nothing to compare
		}
		replace, warning := planForSource(plan.SourceURL.ValueString(), state.SourceFingerprint.ValueString(), seen)
		if warning != nil {
			resp.Diagnostics.Append(warning)
		}
		if replace {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, fingerprintPath, types.StringValue(seen))...)
			resp.RequiresReplace = append(resp.RequiresReplace, fingerprintPath)
		}
	}
}

// planForSource decides what a plan does about the source: recorded is the fingerprint in state,
// seen the one the refresh found. Only a change that the two validators can show replaces.
func planForSource(sourceURL, recorded, seen string) (replace bool, warning diag.Diagnostic) {
	switch compareSources(recorded, seen) {
	case sourceChanged:
		return true, sourceChangedWarning(sourceURL, recorded, seen)
	case sourceIncomparable:
		if recorded != "" {
			return false, sourceIncomparableWarning(sourceURL, recorded, seen)
		}
	}
	return false, nil
}

// sourceSeen reads what the latest refresh saw of the source; checked is false when it could
// not check it.
func sourceSeen(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (seen string, checked bool, diags diag.Diagnostics) {
	raw, diags := private.GetKey(ctx, privateKeySourceSeen)
	if diags.HasError() || len(raw) == 0 {
		return "", false, diags
	}
	if err := json.Unmarshal(raw, &seen); err != nil {
		return "", false, diags // written by another version: as good as unchecked
	}
	return seen, true, diags
}

func (r *remoteFileResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan remoteFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data.apiKeyState != apiKeySet {
		resp.Diagnostics.Append(missingAPIKeyDiagnostic())
		return
	}
	createTimeout, diags := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()

	// The source is checked before the upload: if it changes in between, the next plan sees a
	// newer fingerprint and uploads again, which errs on the side of fresh content.
	plan.SourceFingerprint = types.StringNull()
	if plan.DetectSourceChanges.ValueBool() {
		readTimeout, diags := plan.Timeouts.Read(ctx, defaultReadTimeout)
		resp.Diagnostics.Append(diags...)
		if diags.HasError() {
			return
		}
		plan.SourceFingerprint = types.StringValue(r.recordSourceFingerprint(ctx, plan.SourceURL.ValueString(), readTimeout, &resp.Diagnostics))
	}

	result, err := r.data.client.UploadFromURL(ctx, apimall.UploadRequest{
		URL:         plan.SourceURL.ValueString(),
		Filename:    plan.Filename.ValueString(),
		ContentType: plan.ContentType.ValueString(),
	})
	if err != nil {
		resp.Diagnostics.Append(uploadFailedDiagnostic(err, createTimeout))
		return
	}
	tflog.Info(ctx, "uploaded file", map[string]any{"key": result.Key, "request_id": result.RequestID, "attempts": result.Attempts})

	plan.URL = types.StringValue(result.URL)
	plan.Key = types.StringValue(result.Key)
	plan.ID = types.StringValue(result.Key)
	plan.FileSize = types.Int64Value(result.FileSize)
	plan.RequestID = types.StringValue(result.RequestID)
	if plan.ContentType.IsUnknown() || plan.ContentType.IsNull() {
		plan.ContentType = types.StringValue(result.ContentType)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, remoteFileIdentityModel{URL: plan.URL})...)
}

// Read checks the hosted file, since the API has no read endpoint: a HEAD on the hosted URL,
// without the API key, refreshes what it can and notices a file deleted outside Terraform.
func (r *remoteFileResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state remoteFileModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	readTimeout, diags := state.Timeouts.Read(ctx, defaultReadTimeout)
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		return
	}
	hostedCtx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()

	check := r.data.client.CheckHosted(hostedCtx, state.URL.ValueString())
	switch check.State {
	case apimall.HostedGone:
		tflog.Warn(ctx, "hosted file is gone; removing it from state so that the next apply uploads it again",
			map[string]any{"url": state.URL.ValueString(), "reason": check.Reason})
		resp.State.RemoveResource(ctx)
		// The framework wants an identity even for a removed resource (CLIs before 1.12 send none).
		resp.Diagnostics.Append(resp.Identity.Set(ctx, remoteFileIdentityModel{URL: state.URL})...)
		return
	case apimall.HostedPresent:
		if check.ContentType != "" && !sameMediaType(check.ContentType, state.ContentType.ValueString()) {
			state.ContentType = types.StringValue(check.ContentType)
		}
		if check.ContentLength >= 0 {
			state.FileSize = types.Int64Value(check.ContentLength)
		}
	default:
		resp.Diagnostics.Append(hostedCheckWarning(state.URL.ValueString(), check.Reason, state.Key.ValueString()))
	}
	if state.DetectSourceChanges.ValueBool() {
		seen, checked, diags := r.refreshSource(ctx, &state, readTimeout)
		resp.Diagnostics.Append(diags...)
		var value []byte // removes the key: nothing to compare
		if checked {
			value, _ = json.Marshal(seen)
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeySourceSeen, value)...)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, remoteFileIdentityModel{URL: state.URL})...)
}

// Update never uploads: it adopts an imported file in place, applies new timeouts, and records
// or clears the source fingerprint when detect_source_changes is switched.
func (r *remoteFileResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state remoteFileModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.URL, plan.Key, plan.ID = state.URL, state.Key, state.ID
	if plan.RequestID.IsUnknown() {
		plan.RequestID = state.RequestID
	}
	if plan.FileSize.IsUnknown() {
		plan.FileSize = state.FileSize
	}
	if plan.ContentType.IsUnknown() {
		plan.ContentType = state.ContentType
	}
	switch {
	case !plan.DetectSourceChanges.ValueBool():
		plan.SourceFingerprint = types.StringNull()
	case plan.SourceFingerprint.IsUnknown():
		readTimeout, diags := plan.Timeouts.Read(ctx, defaultReadTimeout)
		resp.Diagnostics.Append(diags...)
		if diags.HasError() {
			return
		}
		plan.SourceFingerprint = types.StringValue(r.recordSourceFingerprint(ctx, plan.SourceURL.ValueString(), readTimeout, &resp.Diagnostics))
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAdopt, nil)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	resp.Diagnostics.Append(resp.Identity.Set(ctx, remoteFileIdentityModel{URL: plan.URL})...)
}

// Delete only forgets the file: API Mall has no delete endpoint, so the hosted file stays in storage.
func (r *remoteFileResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var key types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("key"), &key)...)
	tflog.Info(ctx, "removing from state only; API Mall has no delete endpoint, the hosted file stays in storage",
		map[string]any{"key": key.ValueString()})
}

func (r *remoteFileResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	hostedURL := req.ID
	if hostedURL == "" && req.Identity != nil {
		var identity remoteFileIdentityModel
		resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
		if resp.Diagnostics.HasError() {
			return
		}
		hostedURL = identity.URL.ValueString()
	}
	key, err := keyFromHostedURL(hostedURL)
	if err != nil {
		resp.Diagnostics.Append(invalidImportIDDiagnostic(err))
		return
	}
	for attr, value := range map[string]any{
		"url":                   types.StringValue(hostedURL),
		"key":                   types.StringValue(key),
		"id":                    types.StringValue(key),
		"detect_source_changes": types.BoolValue(false),
	} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), value)...)
	}
	resp.Diagnostics.Append(resp.Identity.Set(ctx, remoteFileIdentityModel{URL: types.StringValue(hostedURL)})...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyAdopt, []byte("true"))...)
}

// refreshSource checks the source of a resource with detect_source_changes on, for ModifyPlan
// to compare (see privateKeySourceSeen): one unauthenticated HEAD per refresh, bounded by the
// read timeout. A fingerprint that the create could not record is recorded here, as a refresh,
// so that it never needs an update that a plan would have to promise.
func (r *remoteFileResource) refreshSource(ctx context.Context, state *remoteFileModel, readTimeout time.Duration) (seen string, checked bool, diags diag.Diagnostics) {
	seen, checked = r.checkSource(ctx, state.SourceURL.ValueString(), readTimeout, &diags)
	if checked && state.SourceFingerprint.ValueString() == "" && seen != "" {
		state.SourceFingerprint = types.StringValue(seen)
	}
	return seen, checked, diags
}

// recordSourceFingerprint asks the source for its validators within the read timeout. A source
// that cannot be checked, or has no validators, gives a warning and an empty fingerprint, which
// the next refresh that gets an answer replaces (refreshSource).
func (r *remoteFileResource) recordSourceFingerprint(ctx context.Context, sourceURL string, readTimeout time.Duration, diags *diag.Diagnostics) string {
	fingerprint, checked := r.checkSource(ctx, sourceURL, readTimeout, diags)
	if checked && fingerprint == "" {
		diags.Append(noValidatorsWarning(sourceURL))
	}
	return fingerprint
}

// checkSource asks the source for its validators with an unauthenticated HEAD, bounded by the
// read timeout. A source that cannot be checked (no answer, or anything but a 2xx, which says
// nothing about the content) gives a warning, never an error, and checked is false.
func (r *remoteFileResource) checkSource(ctx context.Context, sourceURL string, readTimeout time.Duration, diags *diag.Diagnostics) (fingerprint string, checked bool) {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	head, err := r.data.client.Head(ctx, sourceURL)
	if err == nil && !isSuccess(head.StatusCode) {
		err = errors.New("the source answered " + head.Describe())
	}
	if err != nil {
		diags.Append(sourceCheckWarning(sourceURL, err, readTimeout))
		return "", false
	}
	return sourceFingerprint(head), true
}

// keyFromHostedURL reads the storage key from a hosted URL: its path without the leading slash.
func keyFromHostedURL(hostedURL string) (string, error) {
	u, err := url.Parse(hostedURL)
	if err != nil || hostedURL == "" {
		return "", fmt.Errorf("%q is not a URL", hostedURL)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", hostedURL)
	}
	key := strings.TrimPrefix(u.Path, "/")
	if key == "" || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("%q has no object key in its path", hostedURL)
	}
	return key, nil
}

func isSuccess(status int) bool { return status >= 200 && status < 300 }

// sameMediaType compares media types without their parameters, so that a CDN adding
// "; charset=binary" is not mistaken for a different file.
func sameMediaType(a, b string) bool {
	ma, _, errA := mime.ParseMediaType(a)
	mb, _, errB := mime.ParseMediaType(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return ma == mb
}

type remoteFileModel struct {
	SourceURL           types.String   `tfsdk:"source_url"`
	Filename            types.String   `tfsdk:"filename"`
	ContentType         types.String   `tfsdk:"content_type"`
	TriggersReplace     types.Map      `tfsdk:"triggers_replace"`
	DetectSourceChanges types.Bool     `tfsdk:"detect_source_changes"`
	SourceFingerprint   types.String   `tfsdk:"source_fingerprint"`
	URL                 types.String   `tfsdk:"url"`
	Key                 types.String   `tfsdk:"key"`
	FileSize            types.Int64    `tfsdk:"file_size"`
	RequestID           types.String   `tfsdk:"request_id"`
	ID                  types.String   `tfsdk:"id"`
	Timeouts            timeouts.Value `tfsdk:"timeouts"`
}

type remoteFileIdentityModel struct {
	URL types.String `tfsdk:"url"`
}
