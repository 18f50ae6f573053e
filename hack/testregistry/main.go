// Command testregistry serves an in-memory OCI registry on loopback with one
// small random image pushed to it, for make e2e's pre-load check (no real
// registry is reachable where kubebake is tested). It prints
// "REFERENCE DIGEST" on one line and serves until killed.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "testregistry: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:0", "address to serve on (loopback only)")
	repo := flag.String("repo", "kubebake/e2e:1", "repository and tag of the pushed image")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	go srv.Serve(l)
	ref, err := name.ParseReference(l.Addr().String()+"/"+*repo, name.Insecure)
	if err != nil {
		return err
	}
	img, err := random.Image(4096, 2)
	if err != nil {
		return err
	}
	if err := remote.Write(ref, img); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", ref, digest)
	select {}
}
