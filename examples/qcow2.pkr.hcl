# A qcow2 node image baked on this machine by the kubebake-qemu builder and
# the kubebake provisioner. The defaults bake debian-13-containerd from a
# `kubebake base debian-13` image with Kubernetes binaries from a local
# directory (hack/k8s-bin.sh builds them), which works with nothing but a
# Debian mirror. For an Ubuntu cloud image:
#
#   packer build \
#     -var source_image=https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img \
#     -var source_image_checksum=file:https://cloud-images.ubuntu.com/noble/current/SHA256SUMS \
#     -var recipe=ubuntu-24.04-containerd examples/qcow2.pkr.hcl
packer {
  required_plugins {
    kubebake = {
      source  = "github.com/kubebake/kubebake"
      version = ">= 0.1.0"
    }
  }
}

variable "source_image" {
  type        = string
  default     = "out/base-debian-13.qcow2"
  description = "A cloud image: a path or a URL."
}

variable "source_image_checksum" {
  type    = string
  default = "none"
}

variable "recipe" {
  type    = string
  default = "debian-13-containerd"
}

variable "kubernetes_binaries_dir" {
  type        = string
  default     = "_build/k8s/v1.36.3/bin"
  description = "kubeadm, kubelet, kubectl and crictl, for recipes with the local source."
}

variable "output_directory" {
  type    = string
  default = "out/packer"
}

variable "accelerator" {
  type    = string
  default = "auto"
}

source "kubebake-qemu" "node" {
  source_image          = var.source_image
  source_image_checksum = var.source_image_checksum
  output_directory      = var.output_directory
  vm_name               = var.recipe
  disk_size             = "8G"
  accelerator           = var.accelerator
  cpus                  = 2
  memory                = 2048
}

build {
  sources = ["source.kubebake-qemu.node"]

  provisioner "kubebake" {
    recipe                  = var.recipe
    kubernetes_binaries_dir = var.recipe == "debian-13-containerd" || var.recipe == "debian-13-docker" ? var.kubernetes_binaries_dir : ""
  }
}
