// Package recipes is the Recipe API (kubebake.dev/v1alpha1): what a
// Kubernetes node image holds. A recipe travels one way:
//
//	LoadWith(ref, overlays...)  decode strictly, with positions; `from`; overlays (CLI flags, Packer overrides)
//	  -> lookupFacts            the distro, family and runtime entries, looked up once
//	  -> SetDefaults            fills what the recipe left out; parses kubernetes.version once into Facts
//	  -> Validate               every problem at once, with field paths and positions
//
// and the Loaded result, with its Facts, goes to recipes/render.
//
// What kubebake knows lives in tables, one entry per thing: distros.go
// (each supported distro release), families.go (apt, dnf, fcos: package
// names, pinning, kubelet's files), runtimes.go (containerd, cri-o, docker:
// socket, services, daemons, packages, configuration format and managed
// keys, archive import, pinning, the node check of the cgroup driver) and
// versions.go (each Kubernetes minor's image tags). Defaults, validation,
// the renderer, the images step and kubebake test read these entries:
// adding a runtime is one entry in runtimes.go plus its templates in
// recipes/render (its files and its images-step blocks).
package recipes
