package planmodifiers

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// existing is the state of a resource that exists (not being created, not being destroyed),
// which is when the framework asks replacement modifiers anything at all.
func existing() (tfsdk.State, tfsdk.Plan) {
	s := schema.Schema{Attributes: map[string]schema.Attribute{"a": schema.StringAttribute{Optional: true}}}
	raw := tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"a": tftypes.String}},
		map[string]tftypes.Value{"a": tftypes.NewValue(tftypes.String, "x")})
	return tfsdk.State{Schema: s, Raw: raw}, tfsdk.Plan{Schema: s, Raw: raw}
}

func TestStringReplaceUnlessAdopting(t *testing.T) {
	state, plan := existing()
	cases := map[string]struct {
		state, plan types.String
		want        bool
	}{
		"changed":           {types.StringValue("a"), types.StringValue("b"), true},
		"unchanged":         {types.StringValue("a"), types.StringValue("a"), false},
		"set after nothing": {types.StringNull(), types.StringValue("b"), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := planmodifier.StringRequest{
				Path: path.Root("a"), State: state, Plan: plan, StateValue: tc.state, PlanValue: tc.plan, ConfigValue: tc.plan,
			}
			resp := &planmodifier.StringResponse{PlanValue: tc.plan}
			StringReplaceUnlessAdopting("adopt").PlanModifyString(context.Background(), req, resp)
			if resp.RequiresReplace != tc.want {
				t.Errorf("RequiresReplace = %v, want %v", resp.RequiresReplace, tc.want)
			}
		})
	}
}

func TestMapReplaceUnlessAdopting(t *testing.T) {
	state, plan := existing()
	v1 := types.MapValueMust(types.StringType, map[string]attr.Value{"version": types.StringValue("1")})
	v2 := types.MapValueMust(types.StringType, map[string]attr.Value{"version": types.StringValue("2")})
	cases := map[string]struct {
		state, plan types.Map
		want        bool
	}{
		"changed":   {v1, v2, true},
		"unchanged": {v1, v1, false},
		"removed":   {v1, types.MapNull(types.StringType), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := planmodifier.MapRequest{
				Path: path.Root("a"), State: state, Plan: plan, StateValue: tc.state, PlanValue: tc.plan, ConfigValue: tc.plan,
			}
			resp := &planmodifier.MapResponse{PlanValue: tc.plan}
			MapReplaceUnlessAdopting("adopt").PlanModifyMap(context.Background(), req, resp)
			if resp.RequiresReplace != tc.want {
				t.Errorf("RequiresReplace = %v, want %v", resp.RequiresReplace, tc.want)
			}
		})
	}
}

func TestStringReplaceWhenConfigured(t *testing.T) {
	state, plan := existing()
	cases := map[string]struct {
		state, config, plan types.String
		want                bool
	}{
		"configured value changed":   {types.StringValue("image/png"), types.StringValue("image/webp"), types.StringValue("image/webp"), true},
		"configured value unchanged": {types.StringValue("image/png"), types.StringValue("image/png"), types.StringValue("image/png"), false},
		"not configured":             {types.StringValue("image/png"), types.StringNull(), types.StringUnknown(), false},
		"first configured value":     {types.StringNull(), types.StringValue("image/png"), types.StringValue("image/png"), true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			req := planmodifier.StringRequest{
				Path: path.Root("a"), State: state, Plan: plan, StateValue: tc.state, PlanValue: tc.plan, ConfigValue: tc.config,
			}
			resp := &planmodifier.StringResponse{PlanValue: tc.plan}
			StringReplaceWhenConfigured("adopt").PlanModifyString(context.Background(), req, resp)
			if resp.RequiresReplace != tc.want {
				t.Errorf("RequiresReplace = %v, want %v", resp.RequiresReplace, tc.want)
			}
		})
	}
}
