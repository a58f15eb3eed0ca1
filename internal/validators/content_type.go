package validators

import (
	"fmt"
	"mime"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// UploadContentType checks a MIME type override: it must parse as a media type whose top-level
// type is one that API Mall stores (image, video or audio).
func UploadContentType() validator.String {
	return stringCheck{
		summary:     "Invalid content type",
		description: "must be a media type of the image, video or audio family, such as image/png",
		check:       checkUploadContentType,
	}
}

func checkUploadContentType(value string) string {
	const expected = "expected an image/*, video/* or audio/* media type, such as image/png, video/mp4 or audio/mpeg"
	mediaType, _, err := mime.ParseMediaType(value)
	if err != nil || !strings.Contains(mediaType, "/") {
		return fmt.Sprintf("%q is not a valid media type; %s.", value, expected)
	}
	switch family, _, _ := strings.Cut(mediaType, "/"); family {
	case "image", "video", "audio":
		return ""
	default:
		return fmt.Sprintf("%q is of the %s family, which API Mall does not store; %s.", value, family, expected)
	}
}
