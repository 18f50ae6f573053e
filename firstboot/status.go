package firstboot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Results a status can hold.
const (
	ResultRunning    = "running"
	ResultSuccess    = "success"
	ResultFailure    = "failure"
	ResultConfigured = "configured" // config phase only (--skip run)
	ResultNoConfig   = "no-config"
)

// Status is /var/lib/kubebake/status.json: the definite result of the last
// attempt. It never holds secrets.
type Status struct {
	Result            string          `json:"result"`
	Phase             string          `json:"phase"`
	Error             string          `json:"error,omitempty"`
	Role              string          `json:"role,omitempty"`
	Node              string          `json:"node,omitempty"`
	KubernetesVersion string          `json:"kubernetesVersion,omitempty"`
	Source            string          `json:"source,omitempty"`
	Attempt           int             `json:"attempt"`
	StartedAt         time.Time       `json:"startedAt"`
	FinishedAt        *time.Time      `json:"finishedAt,omitempty"`
	DurationSeconds   float64         `json:"durationSeconds"`
	Phases            []PhaseDuration `json:"phases"`
	Kubeadm           *KubeadmResult  `json:"kubeadm,omitempty"`
}

// PhaseDuration is how long one phase took.
type PhaseDuration struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Result  string  `json:"result"`
}

// KubeadmResult is what kubeadm did, redacted.
type KubeadmResult struct {
	Command    string `json:"command"`
	ExitCode   int    `json:"exitCode"`
	Attempts   int    `json:"attempts"`
	OutputTail string `json:"outputTail,omitempty"`
}

// readStatus reads a previous status; ok is false when there is none.
func readStatus(path string) (Status, bool) {
	var s Status
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &s) != nil {
		return Status{}, false
	}
	return s, true
}

// writeFileAtomic writes data to path through a temp file and rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
