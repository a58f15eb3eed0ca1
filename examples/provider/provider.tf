# The API key is best kept out of configuration: set APIMALL_API_KEY in the environment.
provider "apimall" {
  base_url               = "https://gateway.apimall.ai" # or APIMALL_BASE_URL
  max_retries            = 4                            # or APIMALL_MAX_RETRIES
  max_concurrent_uploads = 8                            # 0 (the default) leaves it to -parallelism
}
