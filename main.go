// Command terraform-provider-apimall serves the apimall provider to Terraform and OpenTofu.
package main

func main() {}
