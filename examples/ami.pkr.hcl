# An AMI of Ubuntu 24.04 with containerd and Kubernetes, baked by the
# kubebake provisioner on Packer's amazon-ebs builder.
#
#   packer init examples/ami.pkr.hcl
#   packer build -var region=eu-west-1 examples/ami.pkr.hcl
packer {
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.3.0"
    }
    kubebake = {
      source  = "github.com/kubebake/kubebake"
      version = ">= 0.1.0"
    }
  }
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "kubernetes_version" {
  type    = string
  default = "v1.36.3"
}

source "amazon-ebs" "ubuntu-24-04" {
  region        = var.region
  instance_type = "t3.medium"
  ami_name      = "kubebake-ubuntu-24.04-containerd-${var.kubernetes_version}-{{timestamp}}"
  ssh_username  = "ubuntu"

  source_ami_filter {
    filters = {
      name                = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
      root-device-type    = "ebs"
      virtualization-type = "hvm"
    }
    owners      = ["099720109477"] # Canonical
    most_recent = true
  }

  launch_block_device_mappings {
    device_name           = "/dev/sda1"
    volume_size           = 20
    volume_type           = "gp3"
    delete_on_termination = true
  }

  tags = {
    "kubebake.dev/recipe"     = "ubuntu-24.04-containerd"
    "kubebake.dev/kubernetes" = var.kubernetes_version
  }
}

build {
  sources = ["source.amazon-ebs.ubuntu-24-04"]

  provisioner "kubebake" {
    recipe = "ubuntu-24.04-containerd"
    overrides {
      kubernetes_version = var.kubernetes_version
      extra_images       = ["registry.k8s.io/metrics-server/metrics-server:v0.8.0"]
    }
  }
}
