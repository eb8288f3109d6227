// Package csi is obsfs's Kubernetes CSI driver: it mounts OBS buckets, or
// prefixes of them, into pods, on the same core as the command line.
//
// # Volumes
//
// A volume id is the mount source of the command line: "bucket" or
// "bucket:/prefix". Static provisioning names it in a PersistentVolume's
// volumeHandle; dynamic provisioning (CreateVolume) makes a prefix
// "<parent>/<pv name>/" in a bucket named by the StorageClass (a directory
// marker object that carries the volume's capacity and deletion policy as
// metadata), or with provision=bucket a whole bucket (the same facts as
// bucket tags). DeleteVolume removes the data only when the StorageClass
// said deleteData=true; otherwise the keys stay and only the volume is
// forgotten.
//
// # Mounting
//
// NodePublishVolume runs the obsfs binary, the very command line an admin
// uses ("obsfs SOURCE TARGET -o OPTIONS"), so every option is checked by
// the one options table and refused with the same message. The options come
// from the volume attributes ("options"), the capability's mount flags, the
// readonly flag (ro) and the pod's fsGroup (gid, with group-writable
// modes); allow_other is always on, since pods run as other users.
// Credentials come only from the node-publish secret (accessKeyID,
// secretAccessKey, sessionToken): they reach obsfs through its environment,
// which obsfs reads and drops, never through arguments or files, and the
// driver never logs a request's secrets. passwd_file is refused.
//
// # Surviving the driver
//
// obsfs goes to the background by itself: once the mount is live the
// daemon runs in its own session (setsid), not as the driver's child, so
// killing or restarting the driver leaves every published volume mounted
// and served. A restarted driver adopts its live mounts (publish and
// unpublish find them in /proc/self/mountinfo) and cleans up dead ones — a
// FUSE mount whose obsfs died answers ENOTCONN; it is detached
// (fusermount3 -uz) so the next publish can mount again. In Kubernetes the
// node plugin runs with hostPID and its mounts in the host's mount
// namespace (Bidirectional propagation), so that the daemons are not in the
// driver container's process tree when it is restarted; see deploy/.
package csi
