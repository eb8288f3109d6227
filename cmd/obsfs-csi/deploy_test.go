package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/yaml"

	"github.com/obsfs/obsfs/csi"
)

// TestDeployManifests decodes every document under deploy/ strictly into
// its Kubernetes API type (an unknown or misspelt field fails), and checks
// that they agree with the driver: its name, and container arguments that
// obsfs-csi accepts.
func TestDeployManifests(t *testing.T) {
	files, err := filepath.Glob("../../deploy/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, doc := range bytes.Split(data, []byte("\n---\n")) {
			var meta struct {
				Kind string `json:"kind"`
			}
			require.NoError(t, yaml.Unmarshal(doc, &meta), "%s doc %d", f, i)
			kinds[meta.Kind]++
			checkManifest(t, filepath.Base(f), meta.Kind, doc)
		}
	}
	for _, k := range []string{"CSIDriver", "DaemonSet", "Deployment", "ClusterRole", "ClusterRoleBinding", "ServiceAccount",
		"StorageClass", "PersistentVolume", "PersistentVolumeClaim", "Pod", "Secret"} {
		assert.NotZero(t, kinds[k], "deploy/ has no %s", k)
	}
}

func checkManifest(t *testing.T, file, kind string, doc []byte) {
	t.Helper()
	strict := func(v any) {
		t.Helper()
		require.NoError(t, yaml.UnmarshalStrict(doc, v), "%s: %s", file, kind)
	}
	switch kind {
	case "CSIDriver":
		var o storagev1.CSIDriver
		strict(&o)
		assert.Equal(t, csi.DefaultName, o.Name)
		assert.False(t, *o.Spec.AttachRequired, "buckets need no attach")
	case "StorageClass":
		var o storagev1.StorageClass
		strict(&o)
		assert.Equal(t, csi.DefaultName, o.Provisioner)
		assert.NotEmpty(t, o.Parameters["bucket"])
	case "PersistentVolume":
		var o corev1.PersistentVolume
		strict(&o)
		require.NotNil(t, o.Spec.CSI)
		assert.Equal(t, csi.DefaultName, o.Spec.CSI.Driver)
	case "DaemonSet":
		var o appsv1.DaemonSet
		strict(&o)
		assert.True(t, o.Spec.Template.Spec.HostPID, "the node plugin needs hostPID so mounts outlive it")
		checkContainers(t, o.Spec.Template.Spec.Containers)
	case "Deployment":
		var o appsv1.Deployment
		strict(&o)
		checkContainers(t, o.Spec.Template.Spec.Containers)
	case "PersistentVolumeClaim":
		strict(&corev1.PersistentVolumeClaim{})
	case "Pod":
		strict(&corev1.Pod{})
	case "Secret":
		strict(&corev1.Secret{})
	case "ServiceAccount":
		strict(&corev1.ServiceAccount{})
	case "ClusterRole":
		strict(&rbacv1.ClusterRole{})
	case "ClusterRoleBinding":
		strict(&rbacv1.ClusterRoleBinding{})
	default:
		t.Errorf("%s: unexpected kind %q", file, kind)
	}
}

// checkContainers runs the obsfs-csi container's arguments through the
// driver's own flag parser (with --version, so nothing is served).
func checkContainers(t *testing.T, cs []corev1.Container) {
	t.Helper()
	found := false
	for _, c := range cs {
		if c.Name != "obsfs-csi" {
			continue
		}
		found = true
		var out, errOut bytes.Buffer
		args := append(append([]string{}, c.Args...), "--version")
		assert.Equal(t, 0, run(args, &out, &errOut), "obsfs-csi %s: %s", strings.Join(c.Args, " "), errOut.String())
	}
	assert.True(t, found, "no obsfs-csi container")
}
