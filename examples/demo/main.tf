# The demo that `make demo` applies against the built-in fake gateway: an image, a video and an
# audio file copied into storage, and their hosted URLs used by another resource.
# The provider reads APIMALL_BASE_URL and APIMALL_API_KEY from the environment.
terraform {
  required_providers {
    apimall = {
      source = "apimall/apimall"
    }
  }
}

provider "apimall" {}

resource "apimall_remote_file" "image" {
  source_url = "https://assets.example.com/cat.png"
}

resource "apimall_remote_file" "video" {
  source_url = "https://assets.example.com/clip.mp4"
  filename   = "intro-clip.mp4"
}

resource "apimall_remote_file" "audio" {
  source_url   = "https://assets.example.com/chime.wav"
  content_type = "audio/wav"
}

# A stand-in for whatever consumes hosted assets (a generation task, a CDN configuration):
# it changes whenever one of the hosted URLs does.
resource "terraform_data" "generation_task" {
  input = {
    reference_image = apimall_remote_file.image.url
    intro_video     = apimall_remote_file.video.url
    soundtrack      = apimall_remote_file.audio.url
  }
}

output "hosted_files" {
  value = {
    for name, f in {
      image = apimall_remote_file.image
      video = apimall_remote_file.video
      audio = apimall_remote_file.audio
      } : name => {
      url          = f.url
      content_type = f.content_type
      file_size    = f.file_size
    }
  }
}

output "generation_task_input" {
  value = terraform_data.generation_task.output
}
