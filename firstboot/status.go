package firstboot

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubebake/kubebake/internal/atomicfile"
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
	Result string `json:"result"`
	Phase  string `json:"phase"`
	Error  string `json:"error,omitempty"`
	// Reason names a failure that no retry can fix (ReasonVersionSkew,
	// ...); empty for others.
	Reason            string          `json:"reason,omitempty"`
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
func readStatus(path string) (s Status, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, false, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		return Status{}, true, err
	}
	return s, true, nil
}

// writeFileAtomic writes data to path atomically, making its directory.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, mode)
}
