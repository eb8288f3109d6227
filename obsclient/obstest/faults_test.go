package obstest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obsfs/obsfs/obsclient/signer"
)

func TestFaults(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{})
	body := strings.Repeat("b", 1000)
	e.put("f/obj", body, nil)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "GetObject", KeyPrefix: "f/", Count: 2, Kind: FaultStatus500}))
	for i := 0; i < 2; i++ {
		st, _, b := e.call(http.MethodGet, testBucket, "f/obj", "", "", nil)
		assert.Equal(t, 500, st)
		assert.Equal(t, "InternalError", errCode(b))
	}
	st, _, _ := e.call(http.MethodGet, testBucket, "f/obj", "", "", nil)
	assert.Equal(t, 200, st, "the fault is used up")

	require.NoError(t, e.srv.InjectFault(Fault{Op: "PutObject", Kind: FaultSlowDown}))
	st, _, b := e.call(http.MethodPut, testBucket, "x", "", "x", nil)
	assert.Equal(t, 503, st)
	assert.Equal(t, "SlowDown", errCode(b))

	require.NoError(t, e.srv.InjectFault(Fault{Op: "HeadObject", Kind: FaultStatus, Status: 429}))
	st, _, _ = e.call(http.MethodHead, testBucket, "f/obj", "", "", nil)
	assert.Equal(t, 429, st)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "GetObject", Kind: FaultReset}))
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no transparent retry on a reused conn
	_, err := fresh.Do(e.req(http.MethodGet, testBucket, "f/obj", "", "", nil))
	assert.Error(t, err, "reset")

	require.NoError(t, e.srv.InjectFault(Fault{Op: "GetObject", Kind: FaultTruncate}))
	resp, err := e.client.Do(e.req(http.MethodGet, testBucket, "f/obj", "", "", nil))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), resp.ContentLength)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Error(t, err, "truncated body")
	assert.Len(t, got, 500)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "GetObject", Kind: FaultDelay, Delay: 50 * time.Millisecond}))
	start := time.Now()
	st, _, _ = e.call(http.MethodGet, testBucket, "f/obj", "", "", nil)
	assert.Equal(t, 200, st)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "CopyObject", Kind: FaultError200}))
	st, _, b = e.call(http.MethodPut, testBucket, "copy", "", "", func(r *http.Request) { r.Header.Set("x-obs-copy-source", testBucket+"/f/obj") })
	assert.Equal(t, 200, st)
	assert.Equal(t, "InternalError", errCode(b), "an <Error> inside a 200")
	_, ok := e.srv.Object(testBucket, "copy")
	assert.False(t, ok)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "AppendObject", Kind: FaultResetAfter}))
	fresh = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	_, err = fresh.Do(e.req(http.MethodPost, testBucket, "log", "append&position=0", "abc", nil))
	assert.Error(t, err, "the answer is lost")
	o, ok := e.srv.Object(testBucket, "log")
	require.True(t, ok, "but the append happened")
	assert.Equal(t, int64(3), o.Size)

	require.NoError(t, e.srv.InjectFault(Fault{Op: "ListObjects", Count: -1, Kind: FaultStatus500}))
	assert.Len(t, e.srv.Faults(), 1)
	e.srv.ClearFaults()
	st, _, _ = e.call(http.MethodGet, testBucket, "", "", "", nil)
	assert.Equal(t, 200, st)
	assert.Error(t, e.srv.InjectFault(Fault{Kind: "bogus"}))
}

func TestFaultsAndStatsOverHTTP(t *testing.T) {
	e := newRaw(t, signer.V2, Options{})
	post := func(doc string) int {
		resp, err := http.Post(e.srv.URL+"/-/faults", "application/json", strings.NewReader(doc))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 204, post(`{"op":"PutObject","kind":"500","count":1}`))
	assert.Equal(t, 204, post(`[{"op":"GetObject","kind":"slowdown"}]`))
	assert.Equal(t, 400, post(`{"kind":"nope"}`))
	st, _, _ := e.call(http.MethodPut, testBucket, "k", "", "12345", nil)
	assert.Equal(t, 500, st)
	e.put("k", "12345", nil)
	st, _, _ = e.call(http.MethodGet, testBucket, "k", "", "", nil)
	assert.Equal(t, 503, st)
	st, _, _ = e.call(http.MethodGet, testBucket, "k", "", "", nil)
	assert.Equal(t, 200, st)

	resp, err := http.Get(e.srv.URL + "/-/stats")
	require.NoError(t, err)
	var stats Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	put := stats["PutObject"]
	assert.Equal(t, int64(2), put.Requests)
	assert.Equal(t, int64(1), put.Errors)
	assert.Equal(t, int64(5), put.BytesIn, "the failed PUT's body was never read")
	assert.Equal(t, int64(2), stats["GetObject"].Requests)
	assert.Greater(t, stats["GetObject"].BytesOut, int64(5), "object and error bodies counted")
	assert.Equal(t, stats, e.srv.Stats())

	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/-/faults", nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 204, resp.StatusCode)
	e.srv.ResetStats()
	assert.Empty(t, e.srv.Stats())
}

func TestStatsCountOperations(t *testing.T) {
	e := newRaw(t, signer.OBS, Options{})
	e.put("a", "hello", nil)
	e.call(http.MethodHead, testBucket, "a", "", "", nil)
	e.call(http.MethodGet, testBucket, "a", "", "", func(r *http.Request) { r.Header.Set("Range", "bytes=0-1") })
	e.call(http.MethodGet, testBucket, "", "prefix=a", "", nil)
	e.call(http.MethodPut, testBucket, "b", "", "", func(r *http.Request) { r.Header.Set("x-obs-copy-source", testBucket+"/a") })
	e.call(http.MethodPost, testBucket, "c", "append&position=0", "xyz", nil)
	e.call(http.MethodDelete, testBucket, "a", "", "", nil)
	s := e.srv.Stats()
	for op, n := range map[string]int64{"PutObject": 1, "HeadObject": 1, "GetObject": 1, "ListObjects": 1, "CopyObject": 1, "AppendObject": 1, "DeleteObject": 1} {
		assert.Equal(t, n, s[op].Requests, op)
	}
	assert.Equal(t, int64(2), s["GetObject"].BytesOut)
	assert.Equal(t, int64(3), s["AppendObject"].BytesIn)
	assert.Equal(t, int64(7), s.Total().Requests)

	j := e.srv.Requests()
	require.Len(t, j, 7)
	assert.Equal(t, "GetObject", j[2].Op)
	assert.Equal(t, "bytes=0-1", j[2].Header.Get("Range"))
	assert.Equal(t, 206, j[2].Status)
	assert.Empty(t, j[2].Header.Get("Authorization"))
	assert.Equal(t, "append&position=0", j[5].Query)
	resp, err := http.Get(e.srv.URL + "/-/requests")
	require.NoError(t, err)
	var viaHTTP []RequestRecord
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&viaHTTP))
	resp.Body.Close()
	assert.Len(t, viaHTTP, 7)
	e.srv.ResetStats()
	assert.Empty(t, e.srv.Requests())
}
