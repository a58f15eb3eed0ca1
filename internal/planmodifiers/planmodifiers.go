// Package planmodifiers holds the provider's own plan modifiers: replacement rules that know
// about an imported object waiting to be adopted.
package planmodifiers

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
)

// privateState is the part of the framework's private state data that the modifiers read;
// the framework's own type lives in an internal package.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

// adopting reports whether the private state holds a non-empty value under key, which is
// how a resource marks an imported object that its configuration has not been applied to.
func adopting(ctx context.Context, private privateState, key string) bool {
	if private == nil {
		return false
	}
	value, diags := private.GetKey(ctx, key)
	return !diags.HasError() && len(value) > 0
}

const adoptNote = " An imported object is adopted in place instead: the first apply after an import never uploads again."

// StringReplaceUnlessAdopting forces replacement when the value changes, except while the
// object is an import waiting to be adopted (adoptKey set in private state).
func StringReplaceUnlessAdopting(adoptKey string) planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(
		func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !adopting(ctx, req.Private, adoptKey)
		},
		"Changing this value replaces the resource."+adoptNote,
		"Changing this value replaces the resource."+adoptNote,
	)
}

// MapReplaceUnlessAdopting is StringReplaceUnlessAdopting for map attributes.
func MapReplaceUnlessAdopting(adoptKey string) planmodifier.Map {
	return mapplanmodifier.RequiresReplaceIf(
		func(ctx context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
			resp.RequiresReplace = !adopting(ctx, req.Private, adoptKey)
		},
		"Changing any value replaces the resource."+adoptNote,
		"Changing any value replaces the resource."+adoptNote,
	)
}

// StringReplaceWhenConfigured forces replacement when a configured value changes. A value that
// is not configured (computed by the provider) never does; nor does a first value given to an
// imported object whose state had none, which is adopted in place.
func StringReplaceWhenConfigured(adoptKey string) planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(
		func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
			if req.ConfigValue.IsNull() {
				return
			}
			resp.RequiresReplace = !req.StateValue.IsNull() || !adopting(ctx, req.Private, adoptKey)
		},
		"Changing a configured value replaces the resource.",
		"Changing a configured value replaces the resource.",
	)
}
