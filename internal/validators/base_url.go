package validators

import (
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/apimall/terraform-provider-apimall/internal/apimall"
)

// BaseURL checks the gateway URL at plan time with the API client's own rule, so that
// configuration and client can never disagree.
func BaseURL() validator.String {
	return stringCheck{
		summary:     "Invalid base URL",
		description: "must be an absolute https:// URL, or http:// to a loopback host",
		check: func(value string) string {
			if err := apimall.ValidateBaseURL(value); err != nil {
				return err.Error()
			}
			return ""
		},
	}
}
