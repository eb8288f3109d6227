package main

// Setup and the limits: what obsclient achieves talking to the emulator
// directly — one and N ranged streams, random ranged GETs, multipart PUT,
// listings, HEADs, small PUTs and GETs.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/obsfs/obsfs/obsclient"
	"github.com/obsfs/obsfs/obsclient/signer"
)

const bigKey = "big.bin"

// client returns a bucket handle with a pool big enough for the streams.
func (b *bench) client() (*obsclient.Bucket, error) {
	c, err := obsclient.New(obsclient.Config{
		Endpoint:    b.emu.URL,
		Credentials: signer.Credentials{AccessKey: benchAccessKey, SecretKey: benchSecretKey},
		Addressing:  obsclient.AddressingPath,
		Region:      benchRegion,
		MaxConns:    max(64, 2*b.cfg.Streams),
	})
	if err != nil {
		return nil, err
	}
	return c.Bucket(benchBucket)
}

// randomBytes returns n pseudo-random bytes (incompressible enough).
func randomBytes(n int) []byte {
	r := rand.NewChaCha8([32]byte{'o', 'b', 's', 'f', 's'})
	p := make([]byte, n)
	_, _ = r.Read(p)
	return p
}

// setup writes the big object (measuring the multipart limit) and the
// many-object trees.
func (b *bench) setup() error {
	bk, err := b.client()
	if err != nil {
		return err
	}
	b.guard("multipart PUT", "direct", func() error { return b.putBig(bk, bigKey, "multipart PUT") })
	if _, err := bk.HeadObject(b.ctx, bigKey, obsclient.GetOptions{}); err != nil {
		return fmt.Errorf("big object missing after setup: %w", err)
	}
	start := time.Now()
	n, err := b.putMany(bk)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "setup: %d small objects created directly in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// putBig uploads cfg.Size bytes as a multipart upload with cfg.Streams parts
// in flight, and records the write limit.
func (b *bench) putBig(bk *obsclient.Bucket, key, rowName string) error {
	ctx := b.ctx
	start := time.Now()
	id, err := bk.InitiateMultipartUpload(ctx, key, obsclient.WriteOptions{})
	if err != nil {
		return err
	}
	nparts := int((b.cfg.Size + b.cfg.PartSize - 1) / b.cfg.PartSize)
	parts := make([]obsclient.Part, nparts)
	err = parallel(ctx, b.cfg.Streams, nparts, func(ctx context.Context, i int) error {
		size := min(b.cfg.PartSize, b.cfg.Size-int64(i)*b.cfg.PartSize)
		p, err := bk.UploadPart(ctx, key, id, i+1, bytes.NewReader(b.block[:size]), size)
		parts[i] = p
		return err
	})
	if err == nil {
		_, err = bk.CompleteMultipartUpload(ctx, key, id, parts)
	}
	if err != nil {
		_ = bk.AbortMultipartUpload(context.Background(), key, id)
		return err
	}
	d := time.Since(start)
	r := row{Name: rowName, Tool: "direct", Value: mibps(b.cfg.Size, d), Unit: "MiB/s",
		Note: fmt.Sprintf("%d parts of %d MiB, %d in flight", nparts, b.cfg.PartSize>>20, b.cfg.Streams)}
	b.setLimit("write", r.Value, true)
	b.add(r)
	return nil
}

// smallKeys are the many-object trees.
func (b *bench) lsKey(i int) string   { return fmt.Sprintf("ls/f%05d", i) }
func (b *bench) statKey(i int) string { return fmt.Sprintf("stat/f%05d", i) }
func (b *bench) treeKey(i int) string {
	return fmt.Sprintf("tree/d%03d/f%05d", i%b.cfg.Dirs, i)
}

// putMany creates the ls directory, the find tree and the stat files.
func (b *bench) putMany(bk *obsclient.Bucket) (int, error) {
	var keys []string
	for i := range b.cfg.Files {
		keys = append(keys, b.lsKey(i), b.treeKey(i))
	}
	for i := range b.cfg.StatFiles {
		keys = append(keys, b.statKey(i))
	}
	err := parallel(b.ctx, 32, len(keys), func(ctx context.Context, i int) error {
		_, err := bk.PutObject(ctx, keys[i], bytes.NewReader(b.block[:1]), 1, obsclient.WriteOptions{})
		return err
	})
	return len(keys), err
}

// directRows measures the read, listing, HEAD and small-object limits.
func (b *bench) directRows() {
	bk, err := b.client()
	if err != nil {
		b.fail("direct client", "direct", err)
		return
	}
	b.guard("seq read 1 stream", "direct", func() error { return b.directSeq(bk, 1, "seq read 1 stream") })
	b.guard("seq read N streams", "direct", func() error {
		return b.directSeq(bk, b.cfg.Streams, fmt.Sprintf("seq read %d streams", b.cfg.Streams))
	})
	for _, n := range []int{4 << 10, 1 << 20} {
		b.guard(randName(n), "direct", func() error { return b.directRandom(bk, n) })
	}
	b.guard("ls: LIST dir", "direct", func() error {
		return b.directList(bk, "ls", obsclient.ListOptions{Prefix: "ls/", Delimiter: "/"}, b.cfg.Files)
	})
	b.guard("find: LIST tree", "direct", func() error {
		return b.directList(bk, "find", obsclient.ListOptions{Prefix: "tree/"}, b.cfg.Files)
	})
	b.guard("stat: HEAD each", "direct", func() error { return b.directHeads(bk) })
	b.guard("small files PUT/GET", "direct", func() error { return b.directSmall(bk) })
}

// directSeq reads the big object in streams ranged parts (8 MiB chunks).
func (b *bench) directSeq(bk *obsclient.Bucket, streams int, name string) error {
	const chunk = 8 << 20
	start := time.Now()
	var total int64
	var mu sync.Mutex
	n := int((b.cfg.Size + chunk - 1) / chunk)
	if streams == 1 {
		n = 1
	}
	err := parallel(b.ctx, streams, n, func(ctx context.Context, i int) error {
		o := obsclient.GetOptions{}
		if streams > 1 {
			o.Range = &obsclient.Range{Start: int64(i) * chunk, End: min(int64(i+1)*chunk, b.cfg.Size) - 1}
		}
		r, err := bk.GetObject(ctx, bigKey, o)
		if err != nil {
			return err
		}
		defer r.Close()
		got, err := io.Copy(io.Discard, r)
		mu.Lock()
		total += got
		mu.Unlock()
		return err
	})
	if err != nil {
		return err
	}
	if total != b.cfg.Size {
		return fmt.Errorf("read %d bytes, want %d", total, b.cfg.Size)
	}
	r := row{Name: name, Tool: "direct", Value: mibps(total, time.Since(start)), Unit: "MiB/s"}
	b.setLimit("read", r.Value, true)
	b.add(r)
	return nil
}

// randName names a random-read row.
func randName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("rand %d MiB reads", n>>20)
	}
	return fmt.Sprintf("rand %d KiB reads", n>>10)
}

// offsets is the fixed sequence of random offsets for reads of n bytes.
func (b *bench) offsets(n int) []int64 {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	span := (b.cfg.Size - int64(n)) / 4096
	offs := make([]int64, b.cfg.RandCount)
	for i := range offs {
		offs[i] = r.Int64N(span+1) * 4096
	}
	return offs
}

// directRandom does single-threaded ranged GETs of n bytes.
func (b *bench) directRandom(bk *obsclient.Bucket, n int) error {
	offs := b.offsets(n)
	done, d, err := bounded(b.ctx, offs, b.cfg.RandTime, func(off int64) error {
		r, err := bk.GetObject(b.ctx, bigKey, obsclient.GetOptions{Range: &obsclient.Range{Start: off, End: off + int64(n) - 1}})
		if err != nil {
			return err
		}
		defer r.Close()
		got, err := io.Copy(io.Discard, r)
		if err == nil && got != int64(n) {
			err = fmt.Errorf("ranged GET returned %d bytes, want %d", got, n)
		}
		return err
	})
	if err != nil {
		return err
	}
	r := row{Name: randName(n), Tool: "direct", Value: perSec(done, d), Unit: "IOPS", Note: fmt.Sprintf("%d reads", done)}
	b.setLimit(randName(n), r.Value, true)
	b.add(r)
	return nil
}

// bounded calls fn for offs in order until all are done or limit passes.
func bounded(ctx context.Context, offs []int64, limit time.Duration, fn func(int64) error) (int, time.Duration, error) {
	start := time.Now()
	for i, off := range offs {
		if time.Since(start) > limit || ctx.Err() != nil {
			return i, time.Since(start), ctx.Err()
		}
		if err := fn(off); err != nil {
			return i, time.Since(start), err
		}
	}
	return len(offs), time.Since(start), nil
}

// directList pages through a listing and records its duration as a limit.
func (b *bench) directList(bk *obsclient.Bucket, key string, o obsclient.ListOptions, want int) error {
	before, _ := b.emu.Stats()
	start := time.Now()
	l := bk.NewLister(o)
	got := 0
	for l.More() {
		page, err := l.Next(b.ctx)
		if err != nil {
			return err
		}
		got += len(page.Objects) + len(page.CommonPrefixes)
	}
	d := time.Since(start)
	after, _ := b.emu.Stats()
	if got != want && o.Delimiter != "" {
		return fmt.Errorf("listed %d entries, want %d", got, want)
	}
	r := row{Name: key + ": LIST", Tool: "direct", Value: d.Seconds(), Unit: "s", Requests: fmtRequests(after.sub(before)),
		Note: fmt.Sprintf("%d entries", got)}
	b.setLimit(key, r.Value, false)
	b.add(r)
	return nil
}

// directHeads HEADs the stat files one after another.
func (b *bench) directHeads(bk *obsclient.Bucket) error {
	start := time.Now()
	for i := range b.cfg.StatFiles {
		if _, err := bk.HeadObject(b.ctx, b.statKey(i), obsclient.GetOptions{}); err != nil {
			return err
		}
	}
	r := row{Name: fmt.Sprintf("stat: HEAD %d", b.cfg.StatFiles), Tool: "direct", Value: time.Since(start).Seconds(), Unit: "s"}
	b.setLimit("stat", r.Value, false)
	b.add(r)
	return nil
}

// directSmall PUTs then GETs SmallFiles small objects, one at a time.
func (b *bench) directSmall(bk *obsclient.Bucket) error {
	n, size := b.cfg.SmallFiles, b.cfg.SmallSize
	key := func(i int) string { return fmt.Sprintf("small-direct/f%05d", i) }
	start := time.Now()
	for i := range n {
		if _, err := bk.PutObject(b.ctx, key(i), bytes.NewReader(b.block[:size]), int64(size), obsclient.WriteOptions{}); err != nil {
			return err
		}
	}
	put := row{Name: fmt.Sprintf("small %d B create", size), Tool: "direct", Value: perSec(n, time.Since(start)), Unit: "files/s", Note: "PUT each"}
	b.setLimit("small-put", put.Value, true)
	b.add(put)
	start = time.Now()
	for i := range n {
		r, err := bk.GetObject(b.ctx, key(i), obsclient.GetOptions{})
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return err
		}
	}
	get := row{Name: fmt.Sprintf("small %d B read back", size), Tool: "direct", Value: perSec(n, time.Since(start)), Unit: "files/s", Note: "GET each"}
	b.setLimit("small-get", get.Value, true)
	b.add(get)
	return nil
}

// parallel runs fn(0..n-1) on workers goroutines; the first error cancels.
func parallel(ctx context.Context, workers, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return ctx.Err()
	}
}
