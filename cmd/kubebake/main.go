// Command kubebake renders, validates and bakes Kubernetes node images.
package main

import "github.com/kubebake/kubebake/cmd/kubebake/app"

// version is set at release with -ldflags "-X main.version=...".
var version = "dev"

func main() { app.Main(version) }
