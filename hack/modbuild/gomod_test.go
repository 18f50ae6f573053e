package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/module"
)

// downloadJSON is `go mod download -json` output: Go's tab-indented objects.
const downloadJSON = `{
	"Path": "k8s.io/sample-cli-plugin",
	"Version": "v0.36.3",
	"Error": "k8s.io/sample-cli-plugin@v0.36.3: reading https://proxy.golang.org/k8s.io/sample-cli-plugin/@v/v0.36.3.info: 403 Forbidden\n\tserver response: This module version is not available."
}
{
	"Path": "github.com/Mirantis/cri-dockerd",
	"Version": "v0.4.3",
	"Info": "/root/go/pkg/mod/cache/download/github.com/!mirantis/cri-dockerd/@v/v0.4.3.info",
	"Dir": "/root/go/pkg/mod/github.com/!mirantis/cri-dockerd@v0.4.3",
	"Sum": "h1:x=",
	"Origin": {
		"VCS": "git",
		"URL": "https://github.com/Mirantis/cri-dockerd",
		"Hash": "d969e29f500151687337b2a896ab65e8192f3145",
		"Ref": "refs/tags/v0.4.3"
	}
}
{
	"Path": "k8s.io/api",
	"Version": "v0.36.3",
	"Dir": "/root/go/pkg/mod/k8s.io/api@v0.36.3"
}
`

func TestReadModules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          string
		want        []Module
		wantHash    []string
		wantProblem []string
		wantErr     bool
	}{
		{name: "empty", in: ""},
		{
			name: "error, origin, plain",
			in:   downloadJSON,
			want: []Module{
				{Path: "k8s.io/sample-cli-plugin", Version: "v0.36.3"},
				{Path: "github.com/Mirantis/cri-dockerd", Version: "v0.4.3", Dir: "/root/go/pkg/mod/github.com/!mirantis/cri-dockerd@v0.4.3"},
				{Path: "k8s.io/api", Version: "v0.36.3", Dir: "/root/go/pkg/mod/k8s.io/api@v0.36.3"},
			},
			wantHash: []string{"", "d969e29f500151687337b2a896ab65e8192f3145", ""},
			wantProblem: []string{
				"k8s.io/sample-cli-plugin@v0.36.3: reading https://proxy.golang.org/k8s.io/sample-cli-plugin/@v/v0.36.3.info: 403 Forbidden server response: This module version is not available.",
				"", "",
			},
		},
		{name: "truncated", in: `{"Path": "k8s.io/api"`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := readModules(strings.NewReader(tc.in))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, len(tc.want))
			for i, m := range got {
				assert.Equal(t, tc.want[i].Path, m.Path)
				assert.Equal(t, tc.want[i].Version, m.Version)
				assert.Equal(t, tc.want[i].Dir, m.Dir)
				assert.Equal(t, tc.wantHash[i], m.Hash())
				assert.Equal(t, tc.wantProblem[i], m.Problem())
			}
		})
	}
}

// kubernetesGoMod is the shape of k8s.io/kubernetes' go.mod.
const kubernetesGoMod = `module k8s.io/kubernetes

go 1.25.0

require (
	k8s.io/api v0.0.0
	k8s.io/apimachinery v0.0.0
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/apimachinery => ./staging/src/k8s.io/apimachinery // a comment
	k8s.io/sample-cli-plugin => ./staging/src/k8s.io/sample-cli-plugin
)

replace example.com/fork v1.0.0 => example.com/other v1.2.0

replace example.com/local => ../local
`

func rep(old, oldV, new, newV string) replace {
	return replace{Old: module.Version{Path: old, Version: oldV}, New: module.Version{Path: new, Version: newV}}
}

func TestReplacesOf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(kubernetesGoMod), 0o644))
	got, err := replacesOf(Module{Path: "k8s.io/kubernetes", Version: "v1.36.3", Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, []replace{
		rep("k8s.io/api", "", "./staging/src/k8s.io/api", ""),
		rep("k8s.io/apimachinery", "", "./staging/src/k8s.io/apimachinery", ""),
		rep("k8s.io/sample-cli-plugin", "", "./staging/src/k8s.io/sample-cli-plugin", ""),
		rep("example.com/fork", "v1.0.0", "example.com/other", "v1.2.0"),
		rep("example.com/local", "", "../local", ""),
	}, got)

	_, err = replacesOf(Module{Path: "k8s.io/kubernetes", Version: "v1.36.3", Dir: t.TempDir()})
	require.ErrorContains(t, err, "k8s.io/kubernetes@v1.36.3: no go.mod in ")
}

func TestStagingReplaces(t *testing.T) {
	t.Parallel()
	reps := []replace{
		rep("k8s.io/api", "", "./staging/src/k8s.io/api", ""),
		rep("k8s.io/apimachinery", "", "./staging/src/k8s.io/apimachinery", ""),
		rep("k8s.io/sample-cli-plugin", "", "./staging/src/k8s.io/sample-cli-plugin", ""),
		rep("example.com/fork", "v1.0.0", "example.com/other", "v1.2.0"),
		rep("example.com/local", "", "../local", ""),
	}
	staging, verbatim, local := stagingModules(reps)
	assert.Equal(t, []string{"k8s.io/api", "k8s.io/apimachinery", "k8s.io/sample-cli-plugin"}, staging)
	assert.Equal(t, []replace{rep("example.com/fork", "v1.0.0", "example.com/other", "v1.2.0")}, verbatim)
	assert.Equal(t, []replace{rep("example.com/local", "", "../local", "")}, local)

	tests := []struct {
		name        string
		version     string
		have        map[string]bool
		want        []replace
		wantSkipped []string
	}{
		{
			name:    "the proxy lacks one",
			version: "v0.36.3",
			have:    map[string]bool{"k8s.io/api": true, "k8s.io/apimachinery": true},
			want: []replace{
				rep("k8s.io/api", "", "k8s.io/api", "v0.36.3"),
				rep("k8s.io/apimachinery", "", "k8s.io/apimachinery", "v0.36.3"),
			},
			wantSkipped: []string{"k8s.io/sample-cli-plugin"},
		},
		{
			name:    "pre-release",
			version: "v0.37.0-rc.1",
			have:    map[string]bool{"k8s.io/api": true, "k8s.io/apimachinery": true, "k8s.io/sample-cli-plugin": true},
			want: []replace{
				rep("k8s.io/api", "", "k8s.io/api", "v0.37.0-rc.1"),
				rep("k8s.io/apimachinery", "", "k8s.io/apimachinery", "v0.37.0-rc.1"),
				rep("k8s.io/sample-cli-plugin", "", "k8s.io/sample-cli-plugin", "v0.37.0-rc.1"),
			},
		},
		{name: "none", version: "v0.36.3", wantSkipped: staging},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, skipped := stagingReplaces(staging, tc.version, tc.have)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantSkipped, skipped)
		})
	}
}

func TestCopyReplaces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reps    []replace
		wantErr string
	}{
		{name: "modules", reps: []replace{rep("k8s.io/api", "", "k8s.io/api", "v0.29.15"), rep("a.example/x", "v1.0.0", "b.example/y", "v1.1.0")}},
		{name: "none"},
		{name: "local path", reps: []replace{rep("k8s.io/api", "", "k8s.io/api", "v0.29.15"), rep("a.example/x", "", "./x", "")},
			wantErr: "github.com/Mirantis/cri-dockerd@v0.4.3 replaces a.example/x with the local path ./x, which a tools module cannot reproduce"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := copyReplaces("github.com/Mirantis/cri-dockerd@v0.4.3", tc.reps)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.reps, got)
		})
	}
}

func TestWithReplaces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		reps []replace
		want string
	}{
		{name: "none", want: "module kubebake.local/kubernetes\n\ngo 1.26.8\n"},
		{
			name: "staging and verbatim",
			reps: []replace{
				rep("k8s.io/apimachinery", "", "k8s.io/apimachinery", "v0.36.3"),
				rep("k8s.io/api", "", "k8s.io/api", "v0.36.3"),
				rep("example.com/fork", "v1.0.0", "example.com/other", "v1.2.0"),
			},
			want: "module kubebake.local/kubernetes\n\ngo 1.26.8\n\n" +
				"replace k8s.io/apimachinery => k8s.io/apimachinery v0.36.3\n\n" +
				"replace k8s.io/api => k8s.io/api v0.36.3\n\n" +
				"replace example.com/fork v1.0.0 => example.com/other v1.2.0\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := withReplaces([]byte("module kubebake.local/kubernetes\n\ngo 1.26.8\n"), tc.reps)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	modDir := t.TempDir() // the downloaded main module
	require.NoError(t, os.WriteFile(filepath.Join(modDir, "go.mod"), []byte("module x\n"), 0o644))
	tests := []struct {
		name         string
		record       string // .kubebake-ready; "" for none
		goSum        bool
		wantReady    bool
		wantRecorded string
	}{
		{name: "complete", record: "sigs.k8s.io/cri-tools@v1.36.0\nabc\n" + modDir + "\n", goSum: true, wantReady: true, wantRecorded: "v1.36.0"},
		{name: "no go.sum", record: "sigs.k8s.io/cri-tools@v1.36.0\nabc\n" + modDir + "\n", wantRecorded: "v1.36.0"},
		{name: "other version", record: "sigs.k8s.io/cri-tools@v1.35.0\nabc\n" + modDir + "\n", goSum: true, wantRecorded: "v1.35.0"},
		{name: "module gone", record: "sigs.k8s.io/cri-tools@v1.36.0\nabc\n/nonexistent\n", goSum: true, wantRecorded: "v1.36.0"},
		{name: "written by the shell script", record: "v1.36.0\n" + modDir + "\n", goSum: true, wantRecorded: "v1.36.0"},
		{name: "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.record != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, readyFile), []byte(tc.record), 0o644))
			}
			if tc.goSum {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), nil, 0o644))
			}
			m := toolsModule{dir: dir, name: "cri-tools", mods: []string{"sigs.k8s.io/cri-tools@v1.36.0"}}
			main, ok := m.ready()
			assert.Equal(t, tc.wantReady, ok)
			if ok {
				assert.Equal(t, Module{Path: "sigs.k8s.io/cri-tools", Version: "v1.36.0", Dir: modDir}, Module{Path: main.Path, Version: main.Version, Dir: main.Dir})
				assert.Equal(t, "abc", main.Hash())
			}
			assert.Equal(t, tc.wantRecorded, recordedVersion(dir))
		})
	}
}

func TestDeclares(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := "package version\n\nvar Version = \"unknown\"\n\nvar (\n\tPreRelease = \"\"\n\tGitCommit   string\n)\n\n// BuildTime = x\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "version.go"), []byte(src), 0o644))
	tests := []struct {
		name string
		want bool
	}{
		{name: "Version", want: true},
		{name: "PreRelease", want: true},
		{name: "GitCommit", want: true}, // declared without a value: -X sets it all the same
		{name: "BuildTime"},
		{name: "Vers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, declares(dir, tc.name))
		})
	}
}
