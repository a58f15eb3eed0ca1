# Import a file already in API Mall storage by its hosted URL.
terraform import apimall_remote_file.hero https://cdn.apimall.ai/uploads/2026/03/12/reference-image.png
