package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// QMP runs one command on a machine's QEMU Machine Protocol socket
// (Config.QMPSocket): it reads the greeting, negotiates capabilities, sends
// the command and returns its "return" value. Asynchronous events QEMU
// sends meanwhile are skipped. A QMP error comes back with its class and
// description.
func QMP(ctx context.Context, socket, command string, arguments any) (json.RawMessage, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	var greeting struct {
		QMP *json.RawMessage `json:"QMP"`
	}
	if err := readQMP(r, &greeting); err != nil || greeting.QMP == nil {
		return nil, fmt.Errorf("qmp %s: no greeting on %s: %v", command, socket, err)
	}
	if _, err := qmpExecute(conn, r, "qmp_capabilities", nil); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	ret, err := qmpExecute(conn, r, command, arguments)
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	return ret, nil
}

// qmpReply is a command's answer; events carry Event instead.
type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

func qmpExecute(conn net.Conn, r *bufio.Reader, command string, arguments any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if arguments != nil {
		req["arguments"] = arguments
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	for {
		var rep qmpReply
		if err := readQMP(r, &rep); err != nil {
			return nil, err
		}
		switch {
		case rep.Event != "":
			continue
		case rep.Error != nil:
			return nil, fmt.Errorf("%s: %s", rep.Error.Class, rep.Error.Desc)
		case rep.Return != nil:
			return rep.Return, nil
		default:
			return nil, fmt.Errorf("an answer with neither return nor error")
		}
	}
}

// readQMP reads one JSON object; QEMU ends each with CRLF.
func readQMP(r *bufio.Reader, v any) error {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}
