package acc

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// The HCP Packer API (2023-01-01) under the organization and project that
// hcpFake.env names; packer v1.16.0 (internal/hcp/api) calls these routes
// through hcp-sdk-go's packer_service client.
const (
	hcpOrg     = "11111111-2222-3333-4444-555555555555"
	hcpProject = "66666666-7777-8888-9999-000000000000"
	hcpPrefix  = "/packer/2023-01-01/organizations/{org}/projects/{project}"
	hcpToken   = "kubebake-acc-token"
)

// hcpBuild is a build as the fake HCP Packer holds it, in the API's JSON
// (models.HashicorpCloudPacker20230101Build).
type hcpBuild struct {
	ID                       string            `json:"id"`
	VersionID                string            `json:"version_id"`
	ComponentType            string            `json:"component_type"`
	PackerRunUUID            string            `json:"packer_run_uuid,omitempty"`
	Platform                 string            `json:"platform,omitempty"`
	SourceExternalIdentifier string            `json:"source_external_identifier,omitempty"`
	Status                   string            `json:"status"`
	Labels                   map[string]string `json:"labels,omitempty"`
	Artifacts                []hcpArtifact     `json:"artifacts"`
	Metadata                 json.RawMessage   `json:"metadata,omitempty"`
}

// hcpArtifact is one image of a build (ArtifactCreateBody in requests).
type hcpArtifact struct {
	ExternalIdentifier string `json:"external_identifier"`
	Region             string `json:"region,omitempty"`
}

// hcpBuildUpdate is an UpdateBuild request body (UpdateBuildBody).
type hcpBuildUpdate struct {
	Artifacts                []hcpArtifact     `json:"artifacts"`
	Labels                   map[string]string `json:"labels"`
	Metadata                 json.RawMessage   `json:"metadata"`
	PackerRunUUID            string            `json:"packer_run_uuid"`
	Platform                 string            `json:"platform"`
	SourceExternalIdentifier string            `json:"source_external_identifier"`
	Status                   string            `json:"status"`
}

// hcpFake is a local HCP: an HTTPS server that issues OAuth tokens for
// client credentials at /oauth2/token and answers the HCP Packer calls
// packer makes for a build with an hcp_packer_registry block (bucket get or
// create, version get or create, builds list and create, enforced blocks,
// build updates, channels, SBOMs), keeping what packer sent. Any other
// call, a wrong token or a wrong organization or project is recorded as a
// failure. Packer trusts its certificate through SSL_CERT_FILE, so TLS is
// verified as it is against HCP.
type hcpFake struct {
	srv     *httptest.Server
	dir     string
	mu      sync.Mutex
	calls   []string
	errs    []string
	buckets map[string]map[string]any
	// versions are by bucket/fingerprint; builds by ID.
	versions map[string]map[string]any
	builds   map[string]*hcpBuild
	next     int
}

func startHCPFake(t *testing.T) *hcpFake {
	t.Helper()
	f := &hcpFake{dir: t.TempDir(), buckets: map[string]map[string]any{},
		versions: map[string]map[string]any{}, builds: map[string]*hcpBuild{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", f.token)
	mux.HandleFunc("GET "+hcpPrefix+"/buckets/{bucket}", f.api("GetBucket", f.getBucket))
	mux.HandleFunc("PUT "+hcpPrefix+"/buckets", f.api("CreateBucket", f.createBucket))
	mux.HandleFunc("PATCH "+hcpPrefix+"/buckets/{bucket}", f.api("UpdateBucket", f.updateBucket))
	mux.HandleFunc("GET "+hcpPrefix+"/buckets/{bucket}/versions/{fp}", f.api("GetVersion", f.getVersion))
	mux.HandleFunc("POST "+hcpPrefix+"/buckets/{bucket}/versions", f.api("CreateVersion", f.createVersion))
	mux.HandleFunc("GET "+hcpPrefix+"/buckets/{bucket}/versions/{fp}/builds", f.api("ListBuilds", f.listBuilds))
	mux.HandleFunc("POST "+hcpPrefix+"/buckets/{bucket}/versions/{fp}/builds", f.api("CreateBuild", f.createBuild))
	mux.HandleFunc("PATCH "+hcpPrefix+"/buckets/{bucket}/versions/{fp}/builds/{id}", f.api("UpdateBuild", f.updateBuild))
	mux.HandleFunc("PUT "+hcpPrefix+"/buckets/{bucket}/versions/{fp}/builds/{id}/sboms", f.api("UploadSbom", f.ok))
	mux.HandleFunc("PATCH "+hcpPrefix+"/buckets/{bucket}/channels/{channel}", f.api("UpdateChannel", f.ok))
	mux.HandleFunc("GET "+hcpPrefix+"/enforced_blocks/bucket/{bucket}", f.api("GetEnforcedBlocksByBucket",
		func(*http.Request) (int, any) { return http.StatusOK, map[string]any{"enforced_block_detail": []any{}} }))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.fail("unexpected call %s %s", r.Method, r.URL.Path)
		reply(w, http.StatusNotFound, rpcStatus(5, "not served by the fake"))
	})
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "ca.pem"), ca, 0o644))
	return f
}

// env points hcp-sdk-go (config.FromEnv) at the fake: client credentials,
// the organization and project (so packer lists neither), the auth URL
// and the API address, the fake's certificate as a trusted root
// (SSL_CERT_FILE; Go still reads the system's /etc/ssl/certs), HCP
// enabled, no bucket or fingerprint from the caller's environment, and a
// HOME of its own for the SDK's token cache (~/.config/hcp).
func (f *hcpFake) env() []string {
	host := strings.TrimPrefix(f.srv.URL, "https://")
	return []string{
		"HCP_CLIENT_ID=kubebake-acc", "HCP_CLIENT_SECRET=kubebake-acc-secret",
		"HCP_ORGANIZATION_ID=" + hcpOrg, "HCP_PROJECT_ID=" + hcpProject,
		"HCP_AUTH_URL=" + f.srv.URL, "HCP_API_ADDRESS=" + host, "HCP_API_HOST=" + host,
		"HCP_CRED_FILE=", "HCP_PACKER_REGISTRY=on", "HCP_PACKER_BUCKET_NAME=", "HCP_PACKER_BUILD_FINGERPRINT=",
		"SSL_CERT_FILE=" + filepath.Join(f.dir, "ca.pem"), "HOME=" + f.dir,
	}
}

// record returns the calls packer made, in order ("UpdateBuild" with the
// status it set), and the failures the fake saw.
func (f *hcpFake) record() (calls, errs []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...), append([]string(nil), f.errs...)
}

// done returns the builds packer marked BUILD_DONE.
func (f *hcpFake) done() []hcpBuild {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hcpBuild
	for _, b := range f.builds {
		if b.Status == "BUILD_DONE" {
			out = append(out, *b)
		}
	}
	return out
}

// bucket returns the bucket packer created, or nil.
func (f *hcpFake) bucket(name string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buckets[name]
}

func (f *hcpFake) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// token answers the client-credentials grant hcp-sdk-go's token source
// makes (golang.org/x/oauth2/clientcredentials): the secret in basic auth
// or in the form, and the API's audience.
func (f *hcpFake) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, "Token")
	f.mu.Unlock()
	if err := r.ParseForm(); err != nil {
		f.fail("token: %v", err)
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != "kubebake-acc" || secret != "kubebake-acc-secret" || r.PostForm.Get("grant_type") != "client_credentials" ||
		r.PostForm.Get("audience") != "https://api.hashicorp.cloud" {
		f.fail("token: unexpected grant %q for %q, audience %q", r.PostForm.Get("grant_type"), id, r.PostForm.Get("audience"))
		reply(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	reply(w, http.StatusOK, map[string]any{"access_token": hcpToken, "token_type": "Bearer", "expires_in": 3600})
}

// api wraps a handler: it records the call, checks the bearer token and
// the location, and writes the handler's answer as JSON.
func (f *hcpFake) api(name string, h func(*http.Request) (int, any)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+hcpToken {
			f.fail("%s: Authorization %q", name, r.Header.Get("Authorization"))
			reply(w, http.StatusUnauthorized, rpcStatus(16, "unauthenticated"))
			return
		}
		if r.PathValue("org") != hcpOrg || r.PathValue("project") != hcpProject {
			f.fail("%s: location %s/%s", name, r.PathValue("org"), r.PathValue("project"))
			reply(w, http.StatusForbidden, rpcStatus(7, "wrong location"))
			return
		}
		f.mu.Lock()
		code, body := h(r)
		call := name
		if name == "UpdateBuild" && code == http.StatusOK {
			call += " " + f.builds[r.PathValue("id")].Status
		}
		f.calls = append(f.calls, call)
		f.mu.Unlock()
		reply(w, code, body)
	}
}

// decode reads a request body; the caller holds f.mu.
func (f *hcpFake) decode(r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		f.errs = append(f.errs, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		return false
	}
	return true
}

func (f *hcpFake) getBucket(r *http.Request) (int, any) {
	b, ok := f.buckets[r.PathValue("bucket")]
	if !ok {
		return http.StatusNotFound, rpcStatus(5, "bucket not found")
	}
	return http.StatusOK, map[string]any{"bucket": b}
}

func (f *hcpFake) createBucket(r *http.Request) (int, any) {
	var b map[string]any
	if !f.decode(r, &b) {
		return http.StatusBadRequest, rpcStatus(3, "bad body")
	}
	name, _ := b["name"].(string)
	f.next++
	b["id"] = fmt.Sprintf("bucket-%d", f.next)
	f.buckets[name] = b
	return http.StatusOK, map[string]any{"bucket": b}
}

func (f *hcpFake) updateBucket(r *http.Request) (int, any) {
	b, ok := f.buckets[r.PathValue("bucket")]
	if !ok {
		return http.StatusNotFound, rpcStatus(5, "bucket not found")
	}
	var u map[string]any
	if !f.decode(r, &u) {
		return http.StatusBadRequest, rpcStatus(3, "bad body")
	}
	b["description"], b["labels"] = u["description"], u["labels"]
	return http.StatusOK, map[string]any{"bucket": b}
}

// getVersion answers as HCP does for a fingerprint it does not know:
// code 10 (Aborted), which packer takes as "create it".
func (f *hcpFake) getVersion(r *http.Request) (int, any) {
	v, ok := f.versions[r.PathValue("bucket")+"/"+r.PathValue("fp")]
	if !ok {
		return http.StatusConflict, rpcStatus(10, "version not found")
	}
	return http.StatusOK, map[string]any{"version": v}
}

// createVersion makes an incomplete version: HCP names those "v0".
func (f *hcpFake) createVersion(r *http.Request) (int, any) {
	bucket := r.PathValue("bucket")
	if _, ok := f.buckets[bucket]; !ok {
		return http.StatusNotFound, rpcStatus(5, "bucket not found")
	}
	var body struct {
		Fingerprint  string `json:"fingerprint"`
		TemplateType string `json:"template_type"`
	}
	if !f.decode(r, &body) {
		return http.StatusBadRequest, rpcStatus(3, "bad body")
	}
	f.next++
	v := map[string]any{"id": fmt.Sprintf("version-%d", f.next), "bucket_name": bucket, "fingerprint": body.Fingerprint,
		"name": "v0", "status": "VERSION_RUNNING", "template_type": body.TemplateType}
	f.versions[bucket+"/"+body.Fingerprint] = v
	return http.StatusOK, map[string]any{"version": v}
}

func (f *hcpFake) listBuilds(r *http.Request) (int, any) {
	v, ok := f.versions[r.PathValue("bucket")+"/"+r.PathValue("fp")]
	if !ok {
		return http.StatusNotFound, rpcStatus(5, "version not found")
	}
	builds := []*hcpBuild{}
	for _, b := range f.builds {
		if b.VersionID == v["id"] {
			builds = append(builds, b)
		}
	}
	return http.StatusOK, map[string]any{"builds": builds}
}

func (f *hcpFake) createBuild(r *http.Request) (int, any) {
	v, ok := f.versions[r.PathValue("bucket")+"/"+r.PathValue("fp")]
	if !ok {
		return http.StatusNotFound, rpcStatus(5, "version not found")
	}
	var b hcpBuild
	if !f.decode(r, &b) {
		return http.StatusBadRequest, rpcStatus(3, "bad body")
	}
	f.next++
	b.ID, b.VersionID = fmt.Sprintf("build-%d", f.next), v["id"].(string)
	if b.Artifacts == nil {
		b.Artifacts = []hcpArtifact{}
	}
	f.builds[b.ID] = &b
	return http.StatusOK, map[string]any{"build": b}
}

// updateBuild applies an UpdateBuild as HCP does: status always, the rest
// when given (a heartbeat or a status change sends only the status).
func (f *hcpFake) updateBuild(r *http.Request) (int, any) {
	b, ok := f.builds[r.PathValue("id")]
	if !ok {
		return http.StatusNotFound, rpcStatus(5, "build not found")
	}
	var u hcpBuildUpdate
	if !f.decode(r, &u) {
		return http.StatusBadRequest, rpcStatus(3, "bad body")
	}
	if b.Status == "BUILD_DONE" {
		return http.StatusBadRequest, rpcStatus(9, "build is done")
	}
	if u.Status == "BUILD_DONE" && len(u.Artifacts) == 0 {
		return http.StatusBadRequest, rpcStatus(3, "a done build needs artifacts")
	}
	b.Status = u.Status
	if len(u.Artifacts) > 0 {
		b.Artifacts = u.Artifacts
	}
	if u.Labels != nil {
		b.Labels = u.Labels
	}
	if len(u.Metadata) > 0 && string(u.Metadata) != "null" {
		b.Metadata = u.Metadata
	}
	for dst, src := range map[*string]string{&b.Platform: u.Platform, &b.SourceExternalIdentifier: u.SourceExternalIdentifier,
		&b.PackerRunUUID: u.PackerRunUUID} {
		if src != "" {
			*dst = src
		}
	}
	return http.StatusOK, map[string]any{"build": b}
}

func (f *hcpFake) ok(*http.Request) (int, any) { return http.StatusOK, map[string]any{} }

// rpcStatus is the google.rpc.Status HCP answers errors with; packer reads
// the code from it (internal/hcp/api.CheckErrorCode).
func rpcStatus(code int, msg string) map[string]any {
	return map[string]any{"code": code, "message": msg, "details": []any{}}
}

func reply(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
