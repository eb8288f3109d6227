package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSetBDIReadahead(t *testing.T) {
	dir := t.TempDir()
	var st unix.Stat_t
	require.NoError(t, unix.Stat(dir, &st))
	sys := t.TempDir()
	bdi := filepath.Join(sys, fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	require.NoError(t, os.Mkdir(bdi, 0o755))
	ra := filepath.Join(bdi, "read_ahead_kb")
	require.NoError(t, os.WriteFile(ra, []byte("128\n"), 0o644))

	path, err := setBDIReadahead(dir, sys, 16<<20)
	require.NoError(t, err)
	assert.Equal(t, ra, path)
	got, err := os.ReadFile(ra)
	require.NoError(t, err)
	assert.Equal(t, "16384", string(got))

	// Already larger: left alone.
	require.NoError(t, os.WriteFile(ra, []byte("65536\n"), 0o644))
	_, err = setBDIReadahead(dir, sys, 16<<20)
	require.NoError(t, err)
	got, _ = os.ReadFile(ra)
	assert.Equal(t, "65536\n", string(got))

	// No such device: an error, nothing created.
	_, err = setBDIReadahead(dir, t.TempDir(), 16<<20)
	assert.Error(t, err)
}
