package obstest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

// TestLinkLatencyAndBandwidth: a simulated link delays every request by its
// latency and paces each connection's bytes to its bandwidth (lower bounds
// only: sleeping guarantees them, a loaded machine only adds).
func TestLinkLatencyAndBandwidth(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{Link: Link{Latency: 40 * time.Millisecond}})
	start := time.Now()
	e.put("k", "v", nil)
	code, _, body := e.call(http.MethodGet, testBucket, "k", "", "", nil)
	require.Equal(t, 200, code, body)
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond, "two requests, 40 ms each")

	const size, rate = 1 << 20, 4 << 20 // 1 MiB at 4 MiB/s: at least 250 ms each way
	big := strings.Repeat("x", size)
	e.srv.SetLink(Link{Bandwidth: rate})
	start = time.Now()
	e.put("big", big, nil)
	assert.GreaterOrEqual(t, time.Since(start), 240*time.Millisecond, "upload paced")
	start = time.Now()
	code, _, body = e.call(http.MethodGet, testBucket, "big", "", "", nil)
	require.Equal(t, 200, code)
	assert.Equal(t, size, len(body))
	assert.GreaterOrEqual(t, time.Since(start), 240*time.Millisecond, "download paced")
}

// TestLinkControlEndpoint: GET/POST /-/link read and set the link, and
// faults that reset the connection still work through a paced connection.
func TestLinkControlEndpoint(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{})
	body, _ := json.Marshal(Link{Latency: 5 * time.Millisecond, Bandwidth: 100 << 20})
	res, err := http.Post(e.srv.URL+"/-/link", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, Link{Latency: 5 * time.Millisecond, Bandwidth: 100 << 20}, e.srv.Link())

	res, err = http.Get(e.srv.URL + "/-/link")
	require.NoError(t, err)
	var got Link
	require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
	res.Body.Close()
	assert.Equal(t, e.srv.Link(), got)

	res, err = http.Post(e.srv.URL+"/-/link", "application/json", strings.NewReader(`{"latency":-1}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "GetObject", Kind: FaultReset}))
	e.put("k", "v", nil)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no silent retry on a reused connection
	_, err = fresh.Do(e.req(http.MethodGet, testBucket, "k", "", "", nil))
	assert.Error(t, err, "the reset fault closes the paced connection")
}
