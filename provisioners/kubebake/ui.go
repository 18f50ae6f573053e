package kubebake

import (
	"bytes"
	"strings"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// uiWriter turns the applier's progress into Packer UI lines: kubebake's
// own lines with Say, the steps' output with Message.
type uiWriter struct {
	mu  sync.Mutex
	ui  packersdk.Ui
	buf bytes.Buffer
}

func newUIWriter(ui packersdk.Ui) *uiWriter { return &uiWriter{ui: ui} }

func (u *uiWriter) Write(b []byte) (int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.buf.Write(b)
	for {
		line, err := u.buf.ReadString('\n')
		if err != nil {
			u.buf.WriteString(line)
			break
		}
		u.say(strings.TrimRight(line, "\r\n"))
	}
	return len(b), nil
}

// Flush writes a last unterminated line.
func (u *uiWriter) Flush() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.buf.Len() > 0 {
		u.say(u.buf.String())
		u.buf.Reset()
	}
}

func (u *uiWriter) say(line string) {
	if strings.HasPrefix(line, "kubebake:") {
		u.ui.Say(line)
		return
	}
	u.ui.Message(line)
}
