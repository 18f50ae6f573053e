# The Packer integration's metadata (https://github.com/hashicorp/integration-template):
# hack/generate.sh copies it to .web-docs/metadata.hcl beside the components'
# READMEs it compiles from docs/.
integration {
  name        = "kubebake"
  description = "Bake Kubernetes node images for kubeadm clusters: a provisioner that applies a kubebake recipe on any builder, and a builder that bakes a qcow2 locally with QEMU."
  identifier  = "packer/kubebake/kubebake"
  flags       = ["hcp-ready"]
  docs {
    process_docs    = true
    readme_location = "./README.md"
    external_url    = "https://github.com/kubebake/kubebake"
  }
  license {
    type = "Apache-2.0"
    url  = "https://github.com/kubebake/kubebake/blob/main/LICENSE"
  }
  component {
    type = "provisioner"
    name = "kubebake"
    slug = "kubebake"
  }
  component {
    type = "builder"
    name = "kubebake-qemu"
    slug = "qemu"
  }
}
