package validators

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

const maxFilenameBytes = 255

// Filename checks a storage file name: 1 to 255 bytes of UTF-8, no path separators or control
// characters, and not "." or "..", so that the name can never climb out of its folder.
func Filename() validator.String {
	return stringCheck{
		summary:     "Invalid filename",
		description: "must be 1 to 255 bytes, without /, \\ or control characters, and not . or ..",
		check:       checkFilename,
	}
}

func checkFilename(name string) string {
	const expected = "expected a plain file name such as reference-image.png: 1 to 255 bytes, without /, \\ or control characters, and not . or .."
	switch {
	case name == "":
		return "the file name is empty; " + expected + "."
	case len(name) > maxFilenameBytes:
		return fmt.Sprintf("the file name is %d bytes long; %s.", len(name), expected)
	case !utf8.ValidString(name):
		return fmt.Sprintf("the file name %q is not valid UTF-8; %s.", name, expected)
	case name == "." || name == "..":
		return fmt.Sprintf("%q names a directory, not a file; %s.", name, expected)
	case strings.ContainsAny(name, `/\`):
		return fmt.Sprintf("the file name %q contains a path separator; %s.", name, expected)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Sprintf("the file name %q contains a control character; %s.", name, expected)
	}
	return ""
}
