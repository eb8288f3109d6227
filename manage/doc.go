// Package manage administers an OBS bucket for obsfs: the registry of
// bucket settings behind the control files (.obsfs/<name>) and the root
// xattrs user.obs.bucket.<name>, the object management attributes behind
// user.obs.<name>, the ACL text format, and the parsing and validation of
// every document written to them. It knows no FUSE types and returns
// ordinary errors; fs adapts it (thin nodes: the control directory, the
// setting files, the xattr methods) and maps its errors to errnos in
// fs/errno.go alone.
//
// # Calls
//
// Management calls the bucket through the interface it declares (Bucket),
// which *obsclient.Bucket satisfies and tests replace with a fake. Values
// that live in an object's metadata (content type, storage class) are not
// sent from here: the caller presents the object as an Object, whose
// metadata path also knows about data not yet uploaded.
//
// # Errors
//
// A value is validated before any request: a refused one wraps ErrInvalid
// and sends nothing. ErrNotWritable (read-only setting or attribute, or
// one OBS cannot delete), ErrNoAttr, ErrBusy (the object has uncommitted
// local data) and ErrNotAdmin (the caller may not administer the bucket)
// are decided here too; errors of the bucket client pass through
// unchanged, so the caller sees the server's code.
//
// # Values
//
// A setting reads in its editable form: one line for the simple ones
// (versioning, quota, storage_class, location), indented JSON with
// obsclient's field names for documents (cors, encryption, lifecycle,
// logging, notification, tagging, website), the ACL text form of
// aclfmt.go, the policy as stored. Writes accept the same forms and, for
// documents, the OBS XML document (a value starting with "<").
package manage
