# Terraform 1.5+ and OpenTofu 1.6+: import by hosted URL in configuration. The first apply adopts
# the stored file in place, without uploading it again.
import {
  to = apimall_remote_file.hero
  id = "https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png"
}
