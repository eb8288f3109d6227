package main

import (
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestSignalDuringStartup: a signal while HEAD bucket hangs ends the start
// at once with one line, instead of waiting for the timeout.
func TestSignalDuringStartup(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() { // accept and never answer
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	e := newStartupEnv(t)
	c := parseOK(t, "bkt1", e.mnt, "-f", "-o", e.opts("url=http://"+l.Addr().String()))
	sigs := make(chan os.Signal, 1)
	time.AfterFunc(200*time.Millisecond, func() { sigs <- syscall.SIGINT })
	start := time.Now()
	m, _, err := startInterruptibly(c, envOf(e.env), sigs, zap.NewNop())
	assert.Nil(t, m)
	require.Error(t, err)
	assert.Equal(t, exitFailure, exitCode(err))
	assert.Equal(t, "interrupted (interrupt) before the mount was up", err.Error())
	assert.Less(t, time.Since(start), 5*time.Second)
}
