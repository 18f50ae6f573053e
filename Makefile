# kubebake: make test runs every check CI runs; make help lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin
K8S_VERSION ?= v1.36.3
# The plugin carries the release version in VERSION: packer init only
# accepts installed plugins with release versions, so a plugin built here
# and installed with packer plugins install --path satisfies the README's
# required_plugins constraint. The acceptance tests install this very build.
ACC_PLUGIN := _build/acc/packer-plugin-kubebake
PLUGIN_LDFLAGS := -s -w -X main.version=v$(shell cat VERSION)

.PHONY: help build plugin firstboot-embed k8s-bin k8s-images test generate bench bench-boot bench-initramfs image e2e e2e-cluster e2e-faults e2e-sources e2e-rollout acc fuzz render release-snapshot clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

build: ## build kubebake and kubebake-firstboot (static) into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubebake ./cmd/kubebake
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kubebake-firstboot ./cmd/kubebake-firstboot

firstboot-embed: ## build kubebake-firstboot for linux/amd64 and linux/arm64 for the plugin to carry
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o internal/firstbootbin/bin/kubebake-firstboot-linux-amd64 ./cmd/kubebake-firstboot
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o internal/firstbootbin/bin/kubebake-firstboot-linux-arm64 ./cmd/kubebake-firstboot

plugin: firstboot-embed ## build packer-plugin-kubebake (version from VERSION) with both firstboot binaries inside into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -tags kubebake_embed -ldflags '$(PLUGIN_LDFLAGS)' -o $(BIN)/packer-plugin-kubebake ./cmd/packer-plugin-kubebake

acc-plugin: plugin
	mkdir -p $(dir $(ACC_PLUGIN))
	cp $(BIN)/packer-plugin-kubebake $(ACC_PLUGIN)

k8s-bin: ## build kubeadm, kubelet, kubectl, crictl $(K8S_VERSION) from Go modules into _build/k8s (cached)
	bash hack/k8s-bin.sh -v $(K8S_VERSION)

k8s-images: ## build kubeadm's control-plane images for $(K8S_VERSION) from Go modules as image archives + images.json in _build/k8s-images/$(K8S_VERSION) (cached)
	bash hack/k8s-images.sh -v $(K8S_VERSION)

test: acc-plugin ## install the validators, kubeadm and packer (cached), then gofmt, vet, generated files and every test
	bash hack/validators.sh
	bash hack/k8s-bin.sh -v v1.36.3 kubeadm
	bash hack/k8s-bin.sh -v v1.35.4 kubeadm
	bash hack/packer.sh
	cd $(dir $(ACC_PLUGIN)) && "$$($(GO) tool -n packer-sdc)" plugin-check $(notdir $(ACC_PLUGIN))
	@unformatted=$$(gofmt -l $$(git ls-files '*.go') 2>/dev/null); \
	  if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	shellcheck -x hack/*.sh .ci/run
	bash hack/generate.sh --check
	PATH="$(CURDIR)/_build/validators/bin:$$PATH" KUBEBAKE_REQUIRE_VALIDATORS=1 KUBEBAKE_REQUIRE_KUBEADM=1 \
	  PACKER_ACC=1 KUBEBAKE_PLUGIN_BIN=$(CURDIR)/$(ACC_PLUGIN) $(GO) test -count=1 ./...
	$(GO) test -count=1 -tags kubebake_embed ./provisioners/... ./internal/firstbootbin/...

generate: ## regenerate the plugin's HCL2 specs, its docs in the integrations layout (.web-docs), docs/recipe-reference.md and the golden plans
	bash hack/generate.sh

bench: ## print figures: Go benchmarks, base build, the chroot bake against a plain-apt floor for the same plan (BENCH_ROUNDS (3) alternated rounds, medians, ratio; BASE=IMAGE skips the base build), vm bake (BENCH_VM=1), sizes, boot (root)
	bash hack/bench.sh

bench-boot: ## a timeline of every second of a node's boot under QEMU: baked init and join, the plain base, and the base installing the recipe at boot; ROUNDS (3) rotated rounds, median and spread per segment on the host's or the guest's clock; out/bench-boot/result.json and table.txt (root; SKIP_BASELINE=1)
	bash hack/bench-boot.sh

bench-initramfs: ## the base's initramfs and kernel command line against a virtio-only initramfs and "quiet": ROUNDS (3) rotated boots of each to the login prompt, the kernel's and the host's times, medians (root; BASE=IMAGE, ACCEL=auto|kvm|tcg)
	bash hack/bench-initramfs.sh

image: ## the main job: bake debian-13-containerd from Debian packages into out/ (root; installs QEMU etc.)
	bash hack/image.sh

release-snapshot: ## goreleaser (built pinned by hack/goreleaser.sh): check the config, then build every release artifact into dist/; with GPG_FINGERPRINT=KEY also sign the checksums and verify the signature
	bash hack/goreleaser.sh
	_build/tools/bin/goreleaser check
	API_VERSION=$$($(GO) run ./cmd/packer-plugin-kubebake describe | sed -n 's/.*"api_version":"\([^"]*\)".*/\1/p') \
	  KUBEBAKE_VERSION=$$(cat VERSION) GPG_FINGERPRINT="$(GPG_FINGERPRINT)" \
	  _build/tools/bin/goreleaser release --snapshot --clean $(if $(GPG_FINGERPRINT),,--skip=sign)
	ls -l dist/*.zip dist/*.tar.gz dist/*SHA256SUMS
	$(if $(GPG_FINGERPRINT),gpg --batch --verify dist/*SHA256SUMS.sig dist/*SHA256SUMS,@echo "release-snapshot: GPG_FINGERPRINT is empty: the checksums are not signed")

acc: acc-plugin ## the plugin's acceptance tests with a real packer, including a kubebake-qemu build of examples/qcow2.pkr.hcl tested by kubebake test (root)
	bash hack/acc.sh

e2e: ## base -> bake (chroot and vm) -> kubebake test, and a NodeConfig init boot; prints figures (root)
	bash hack/e2e.sh

e2e-cluster: ## bake debian-13-containerd, -docker and -cri-o with kubeadm's images from Go modules, boot a 2-node cluster (init + join) of each under QEMU on a private link, check it from kubectl; prints figures (root)
	bash hack/e2e-cluster.sh

e2e-faults: ## faults for real: power cuts mid-init and mid-join in a 2-node cluster, a vm bake's QEMU killed mid-step, SIGTERM/SIGINT to build, test and base; checks nothing is left (root)
	bash hack/e2e-faults.sh

e2e-sources: ## Kubernetes from packages (an apt repository in pkgs.k8s.io's layout, signed) and from release binaries (dl.k8s.io's, cri-tools' and the CNI plugins' layouts) served on loopback: bake each, kubebake test each, and four bakes that must fail (another signing key, a missing version, a wrong pinned fingerprint, a tampered kubelet); prints figures (root)
	bash hack/e2e-sources.sh

e2e-rollout: ## a node pool replaced under load: control plane + worker from image A, a worker from image B (from: A) with the same user data, drain + graceful power-off, availability watched against a PodDisruptionBudget; a too-new kubelet refused; baked vs. installed-at-boot replacement; prints figures (root)
	bash hack/e2e-rollout.sh

fuzz: ## run every fuzz target for FUZZTIME each (default 60s); crashers stay under testdata/fuzz as regression cases
	bash hack/fuzz.sh

render: build ## render the default recipe's plan to out/plan
	$(BIN)/kubebake render debian-13-containerd --dest out/plan

clean: ## remove build outputs (keeps the validator cache)
	rm -rf $(BIN) out dist
