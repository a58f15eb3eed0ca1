//go:build tools

// Package opentofu pins the OpenTofu CLI that `make tools` builds into bin/.
package opentofu

import _ "github.com/opentofu/opentofu/cmd/tofu"
