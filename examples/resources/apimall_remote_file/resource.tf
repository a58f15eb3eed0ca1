resource "apimall_remote_file" "hero" {
  source_url   = "https://example.com/assets/reference-image.png"
  filename     = "reference-image.png" # optional
  content_type = "image/png"           # optional override

  # Change a value to upload the file again.
  triggers_replace = { version = "3" }

  timeouts {
    create = "10m"
  }
}

# Upload again whenever the file behind the URL changes (one HEAD to the source per plan).
resource "apimall_remote_file" "logo" {
  source_url            = "https://example.com/assets/logo.png"
  detect_source_changes = true
}

output "hero_url" {
  value = apimall_remote_file.hero.url
}
