package firstboot

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// APIServer is what a joining node asks the cluster's API server before
// and after kubeadm join, with no credentials: kubeadm clusters serve
// /version and the kube-public cluster-info ConfigMap to anyone.
type APIServer interface {
	// Version is the API server's gitVersion (e.g. v1.36.3).
	Version(ctx context.Context, endpoint string) (string, error)
	// SignedTokenIDs are the IDs of the bootstrap tokens that the
	// cluster-info ConfigMap carries a JWS signature for: the tokens the
	// cluster knows and has not expired, once its bootstrap signer runs.
	SignedTokenIDs(ctx context.Context, endpoint string) ([]string, error)
}

// HTTPAPIServer asks a real API server at HOST:PORT. It does not verify
// the server's certificate: the answers only decide whether to fail early,
// never what to trust, and kubeadm join authenticates the cluster itself
// against bootstrap.caCertHashes.
type HTTPAPIServer struct{}

func (HTTPAPIServer) get(ctx context.Context, endpoint, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+endpoint+path, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see HTTPAPIServer
	}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// Version implements APIServer.
func (s HTTPAPIServer) Version(ctx context.Context, endpoint string) (string, error) {
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := s.get(ctx, endpoint, "/version", &v); err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

// jwsPrefix prefixes each signature key of cluster-info's data.
const jwsPrefix = "jws-kubeconfig-"

// SignedTokenIDs implements APIServer.
func (s HTTPAPIServer) SignedTokenIDs(ctx context.Context, endpoint string) ([]string, error) {
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := s.get(ctx, endpoint, "/api/v1/namespaces/kube-public/configmaps/cluster-info", &cm); err != nil {
		return nil, err
	}
	var ids []string
	for k := range cm.Data {
		if id, ok := strings.CutPrefix(k, jwsPrefix); ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}
