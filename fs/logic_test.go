package fs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"go.uber.org/zap"
)

func testFS(t *testing.T) *FS {
	f, err := newFS(nil, nil, Options{Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestInodeNumbers(t *testing.T) {
	f := testFS(t)
	a, b, c := f.inoOf("d"), f.inoOf("d/x"), f.inoOf("d/y/z")
	if a == b || b == c || a <= fuse.FUSE_ROOT_ID || f.inoOf("") != fuse.FUSE_ROOT_ID {
		t.Fatalf("numbers %d %d %d", a, b, c)
	}
	if f.inoOf("d/x") != b {
		t.Fatal("not stable")
	}
	old := f.inoOf("e/x")
	f.moveIno("d", "e")
	if f.inoOf("e") != a || f.inoOf("e/x") != b || f.inoOf("e/y/z") != c {
		t.Fatal("rename did not carry numbers")
	}
	if f.inoOf("e/x") == old {
		t.Fatal("replaced target kept its number")
	}
	if f.inoOf("d") == a {
		t.Fatal("source path kept its number")
	}
	f.forgetIno("e", true)
	if f.inoOf("e/x") == b || f.inoOf("e") == a {
		t.Fatal("forgotten numbers reused")
	}
}

func TestFlightGroupShares(t *testing.T) {
	var g flightGroup
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := g.do(context.Background(), "k", func(context.Context) (objAttr, error) {
				calls.Add(1)
				<-release
				return objAttr{Size: 7}, nil
			})
			if err != nil || a.Size != 7 {
				t.Errorf("do = %v %v", a, err)
			}
		}()
	}
	for !g.inFlight("k") {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n < 1 || n > 5 {
		t.Fatalf("%d calls", n)
	}
	if g.inFlight("k") {
		t.Fatal("still in flight")
	}
	// A waiter whose context ends stops waiting.
	block := make(chan struct{})
	go g.do(context.Background(), "slow", func(context.Context) (objAttr, error) { <-block; return objAttr{}, nil })
	for !g.inFlight("slow") {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.do(ctx, "slow", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	close(block)
}

// TestFlightGroupCallerLeaves: the caller that started a call leaves as
// soon as its own context ends (an interrupt), while the call goes on for
// the other waiters; once every waiter has left, the call's context is
// cancelled and the next caller starts a new call.
func TestFlightGroupCallerLeaves(t *testing.T) {
	var g flightGroup
	started := make(chan struct{})
	release := make(chan struct{})
	cancelled := make(chan struct{})
	fn := func(ctx context.Context) (objAttr, error) {
		close(started)
		select {
		case <-release:
			return objAttr{Size: 9}, nil
		case <-ctx.Done():
			close(cancelled)
			return objAttr{}, ctx.Err()
		}
	}
	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() { _, err := g.do(first, "k", fn); firstDone <- err }()
	<-started
	second := make(chan objAttr, 1)
	go func() { a, _ := g.do(context.Background(), "k", nil); second <- a }()
	for {
		g.mu.Lock()
		n := g.calls["k"].waiters
		g.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancelFirst()
	select {
	case err := <-firstDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("first caller: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the first caller did not leave when its context ended")
	}
	close(release)
	if a := <-second; a.Size != 9 {
		t.Fatalf("second waiter got %+v", a)
	}

	// The last waiter leaving cancels the call.
	started = make(chan struct{})
	release = make(chan struct{})
	cancelled = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := g.do(ctx, "j", fn); done <- err }()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("do: %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the call was not cancelled when its last waiter left")
	}
	if g.inFlight("j") {
		t.Fatal("a call without waiters is still joinable")
	}
}

func TestStatfsFill(t *testing.T) {
	var out fuse.StatfsOut
	statfsFill(&out, 8192, 3, 1<<20)
	if out.Blocks != 256 || out.Bfree != 254 || out.Bavail != 254 || out.Bsize != 4096 || out.Ffree != maxFiles-3 || out.NameLen != 255 {
		t.Fatalf("%+v", out)
	}
	statfsFill(&out, 2<<20, 0, 1<<20) // over quota
	if out.Bfree != 0 {
		t.Fatalf("over quota free %d", out.Bfree)
	}
}

func TestOptionsDefaults(t *testing.T) {
	f, err := newFS(nil, nil, Options{Umask: 027, Prefix: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	if f.ns.prefix != "a/b/" || f.ttl != DefaultStatCacheTTL || f.opts.MountpointMode != 0750 ||
		f.opts.MultipartSize != DefaultMultipartSize || f.opts.ParallelCount != DefaultParallelCount {
		t.Fatalf("%+v", f.opts)
	}
	if a := f.rootAttr(); a.Mode != 040750 {
		t.Fatalf("root mode %o", a.Mode)
	}
	if _, err := newFS(nil, nil, Options{Prefix: "a//b"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
	f, _ = newFS(nil, nil, Options{NoStatCache: true, StatCacheTTL: time.Minute})
	if f.ttl != 0 {
		t.Fatal("NoStatCache does not disable the caches")
	}
	if st := f.panicHandler("boom"); st != fuse.EIO {
		t.Fatalf("panic → %v", st)
	}
}
