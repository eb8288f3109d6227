package fs

// Commits that fail are retried in the background.
//
// A commit (close, fsync, rename, unmount) first rides out transient
// failures within the retry budget (Options.RetryBudget, on its context:
// every request retries, and transfer re-plans the commit). When it still
// fails, the caller gets the error (tenet 18) and the file keeps its data
// (tenet 19); the file is also queued here and committed again in the
// background, with capped, jittered backoff (5 s doubling to 5 min), until
// it lands or there is nothing left to commit (the file was deleted,
// replaced, or committed by a later close/fsync). A conflict with another
// writer (ESTALE: the object changed under us) is not retried: only
// rewriting the file resolves it; it stays listed. The queue is shown in
// `.obsfs/stats` (failed_commits) and every attempt is logged.

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/transfer"
)

// Background retry timing.
const (
	retryFirst = 5 * time.Second
	retryMax   = 5 * time.Minute
	// retryAttemptTimeout bounds one background attempt.
	retryAttemptTimeout = 10 * time.Minute
)

// FailedCommit describes a file whose last commit failed.
type FailedCommit struct {
	Path        string    `json:"path"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error"`
	FirstFailed time.Time `json:"first_failed"`
	NextRetry   time.Time `json:"next_retry,omitzero"` // zero: not retried (a conflict)
}

type failedCommit struct {
	FailedCommit
	n *node
}

// retryQueue holds the files whose last commit failed.
type retryQueue struct {
	mu sync.Mutex
	// GUARDED_BY(mu):
	files   map[*node]*failedCommit
	running bool          // the retry loop has been started
	stopped bool          // stopRetries ran: no loop starts any more
	kick    chan struct{} // wakes the loop when the queue changed
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // closed when the loop has returned
}

// commitFailed records a failed commit of n (at path p) and schedules a
// background retry unless the failure is a conflict.
func (f *FS) commitFailed(n *node, p string, err error) {
	q := &f.retries
	q.mu.Lock()
	if q.files == nil {
		q.files, q.kick, q.done = map[*node]*failedCommit{}, make(chan struct{}, 1), make(chan struct{})
		q.ctx, q.cancel = context.WithCancel(context.Background())
	}
	fc := q.files[n]
	if fc == nil {
		fc = &failedCommit{n: n, FailedCommit: FailedCommit{FirstFailed: time.Now()}}
		q.files[n] = fc
	}
	fc.Path, fc.LastError = p, err.Error()
	fc.Attempts++
	fc.NextRetry = time.Time{}
	if !errors.Is(err, transfer.ErrStale) {
		fc.NextRetry = time.Now().Add(retryDelay(fc.Attempts))
	}
	start := !q.running && !q.stopped
	q.running = q.running || start
	fc2 := fc.FailedCommit
	q.mu.Unlock()
	f.log.Warn("commit failed; data kept locally", zap.String("path", p), zap.Int("attempts", fc2.Attempts),
		zap.Time("next_retry", fc2.NextRetry), zap.Error(err))
	if start {
		go f.retryLoop()
	}
	f.kickRetries()
}

// commitDone forgets n's failures (its commit succeeded, or nothing is
// left to commit).
func (f *FS) commitDone(n *node) {
	q := &f.retries
	q.mu.Lock()
	fc := q.files[n]
	delete(q.files, n)
	q.mu.Unlock()
	if fc != nil {
		f.log.Info("commit succeeded after failures", zap.String("path", fc.Path), zap.Int("failed_attempts", fc.Attempts))
	}
}

func (f *FS) kickRetries() {
	select {
	case f.retries.kick <- struct{}{}:
	default:
	}
}

// FailedCommits lists the files whose last commit failed, by path.
func (f *FS) FailedCommits() []FailedCommit {
	q := &f.retries
	q.mu.Lock()
	out := make([]FailedCommit, 0, len(q.files))
	for _, fc := range q.files {
		out = append(out, fc.FailedCommit)
	}
	q.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// retryDelay is the delay after the n-th failure: 5 s doubling, capped at
// 5 min, with ±25 % jitter.
func retryDelay(n int) time.Duration {
	d := retryFirst
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return d*3/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// stopRetries ends the background retries (the mount is gone: what is
// left is the unmount flush's job) and waits for an attempt in progress.
func (f *FS) stopRetries() {
	q := &f.retries
	q.mu.Lock()
	q.stopped = true
	running, done := q.running, q.done
	if q.cancel != nil {
		q.cancel()
	}
	q.mu.Unlock()
	if running {
		<-done
	}
}

// retryLoop commits the queued files as they fall due, one at a time.
func (f *FS) retryLoop() {
	q := &f.retries
	defer close(q.done)
	defer f.recoverBackground("commit retry")
	for {
		if q.ctx.Err() != nil {
			return
		}
		q.mu.Lock()
		var due *failedCommit
		var wake time.Time
		for _, fc := range q.files {
			if fc.NextRetry.IsZero() {
				continue
			}
			if wake.IsZero() || fc.NextRetry.Before(wake) {
				wake, due = fc.NextRetry, fc
			}
		}
		q.mu.Unlock()
		if due == nil || time.Now().Before(wake) {
			wait := time.Minute
			if due != nil {
				wait = time.Until(wake)
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-q.kick:
				t.Stop()
			case <-q.ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		f.retryOne(due.n)
	}
}

// retryOne commits n once in the background (no retry budget: the queue
// is the retry).
func (f *FS) retryOne(n *node) {
	q := &f.retries
	q.mu.Lock()
	if fc := q.files[n]; fc != nil {
		fc.NextRetry = time.Time{} // not picked again while running
	}
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(q.ctx, retryAttemptTimeout)
	defer cancel()
	if en := n.commitBudget(obsclient.WithRetryBudget(ctx, 0)); en == 0 {
		f.commitDone(n) // landed, or nothing left to commit
	}
}
