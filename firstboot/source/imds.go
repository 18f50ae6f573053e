package source

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kubebake/kubebake/internal/sys"
)

// DefaultIMDSEndpoint is EC2's instance metadata service.
const DefaultIMDSEndpoint = "http://169.254.169.254"

// IMDS reads user data from EC2's instance metadata service, version 2
// (a session token PUT first, then the user data with that token).
type IMDS struct {
	// Endpoint defaults to DefaultIMDSEndpoint.
	Endpoint string
	// Client defaults to a client with a 2 s timeout per request.
	Client *http.Client
	// Attempts bounds the tries per request (default 5), with Backoff
	// doubling between them (default 500 ms).
	Attempts int
	Backoff  time.Duration
	// Sleep waits between attempts (default: a timer honouring ctx).
	Sleep func(context.Context, time.Duration) error
}

// UserData returns the instance's user data; ok is false when it has none
// (404).
func (m IMDS) UserData(ctx context.Context) (data []byte, ok bool, err error) {
	endpoint := m.Endpoint
	if endpoint == "" {
		endpoint = DefaultIMDSEndpoint
	}
	token, status, err := m.do(ctx, http.MethodPut, endpoint+"/latest/api/token",
		map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "300"})
	if err != nil {
		return nil, false, fmt.Errorf("IMDSv2 token: %w", err)
	}
	if status != http.StatusOK {
		return nil, false, fmt.Errorf("IMDSv2 token: HTTP %d", status)
	}
	body, status, err := m.do(ctx, http.MethodGet, endpoint+"/latest/user-data",
		map[string]string{"X-aws-ec2-metadata-token": string(token)})
	if err != nil {
		return nil, false, fmt.Errorf("IMDSv2 user-data: %w", err)
	}
	switch status {
	case http.StatusOK:
		return body, true, nil
	case http.StatusNotFound:
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("IMDSv2 user-data: HTTP %d", status)
}

// do sends one request, retrying transport errors and 5xx answers.
func (m IMDS) do(ctx context.Context, method, url string, headers map[string]string) ([]byte, int, error) {
	client := m.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	attempts := m.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	backoff := m.Backoff
	if backoff <= 0 {
		backoff = 500 * time.Millisecond
	}
	sleep := m.Sleep
	if sleep == nil {
		sleep = sys.Sleep
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := sleep(ctx, backoff); err != nil {
				return nil, 0, err
			}
			backoff *= 2
		}
		req, err := http.NewRequestWithContext(ctx, method, url, nil)
		if err != nil {
			return nil, 0, err
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserData+1))
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		if len(body) > maxUserData {
			return nil, 0, fmt.Errorf("IMDSv2 %s: more than the limit of %d bytes", url, maxUserData)
		}
		if resp.StatusCode >= 500 {
			lastErr = fmt.Errorf("HTTP %d", resp.StatusCode)
			continue
		}
		return body, resp.StatusCode, nil
	}
	return nil, 0, fmt.Errorf("%d attempts: %w", attempts, lastErr)
}
