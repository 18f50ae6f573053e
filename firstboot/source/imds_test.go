package source_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubebake/kubebake/firstboot/source"
)

// imdsServer serves IMDSv2: PUT /latest/api/token then GET
// /latest/user-data with that token. userData nil means 404.
type imdsServer struct {
	mu       sync.Mutex
	requests []string
	userData []byte
	// fail5xx answers 500 to that many user-data requests first.
	fail5xx int
}

const imdsToken = "AQAEAFakeSessionToken=="

func (s *imdsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		io.WriteString(w, imdsToken)
	case r.Method == http.MethodGet && r.URL.Path == "/latest/user-data":
		if r.Header.Get("X-aws-ec2-metadata-token") != imdsToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if s.fail5xx > 0 {
			s.fail5xx--
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		if s.userData == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(s.userData)
	default:
		http.Error(w, "no", http.StatusMethodNotAllowed)
	}
}

func (s *imdsServer) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.requests...)
}

// sleeps records the waits of an IMDS client without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func TestIMDSUserData(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		userData   []byte
		fail5xx    int
		attempts   int
		wantData   string
		wantOK     bool
		wantErr    string
		wantSleeps []time.Duration
		wantReqs   []string
	}{
		{
			name: "user data", userData: []byte(nodeDoc), wantData: nodeDoc, wantOK: true,
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data"},
		},
		{
			name: "no user data is 404", userData: nil, wantOK: false,
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data"},
		},
		{
			name: "500s then success", userData: []byte(nodeDoc), fail5xx: 2, wantData: nodeDoc, wantOK: true,
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
			wantReqs:   []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data"},
		},
		{
			name: "every attempt fails", userData: []byte(nodeDoc), fail5xx: 100, attempts: 3, wantErr: "3 attempts: HTTP 500",
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond},
			wantReqs:   []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data"},
		},
		{
			name: "default five attempts", userData: []byte(nodeDoc), fail5xx: 100, wantErr: "5 attempts",
			wantSleeps: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
			wantReqs: []string{"PUT /latest/api/token", "GET /latest/user-data", "GET /latest/user-data", "GET /latest/user-data",
				"GET /latest/user-data", "GET /latest/user-data"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &imdsServer{userData: tc.userData, fail5xx: tc.fail5xx}
			ts := httptest.NewServer(srv)
			t.Cleanup(ts.Close)
			sl := &sleeps{}
			m := source.IMDS{Endpoint: ts.URL, Attempts: tc.attempts, Backoff: 100 * time.Millisecond, Sleep: sl.sleep}
			data, ok, err := m.UserData(context.Background())
			assert.Equal(t, tc.wantReqs, srv.got())
			assert.Equal(t, tc.wantSleeps, sl.d)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantData, string(data))
		})
	}
}

// TestIMDSServerRejects proves the fake server is strict: without the
// session token the user data is refused.
func TestIMDSServerRejects(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(&imdsServer{userData: []byte(nodeDoc)})
	t.Cleanup(ts.Close)
	resp, err := http.Get(ts.URL + "/latest/user-data")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, err := http.NewRequest(http.MethodPut, ts.URL+"/latest/api/token", nil)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "a token PUT needs the TTL header")
}

func TestIMDSErrors(t *testing.T) {
	t.Parallel()
	t.Run("token refused", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "forbidden", http.StatusForbidden)
		}))
		t.Cleanup(ts.Close)
		_, _, err := source.IMDS{Endpoint: ts.URL, Sleep: (&sleeps{}).sleep}.UserData(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMDSv2 token: HTTP 403")
	})
	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.NotFoundHandler())
		ts.Close()
		sl := &sleeps{}
		_, _, err := source.IMDS{Endpoint: ts.URL, Attempts: 2, Sleep: sl.sleep}.UserData(context.Background())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "IMDSv2 token: 2 attempts")
		assert.Len(t, sl.d, 1)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "busy", http.StatusInternalServerError)
		}))
		t.Cleanup(ts.Close)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, _, err := source.IMDS{Endpoint: ts.URL, Backoff: time.Hour}.UserData(ctx)
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}
