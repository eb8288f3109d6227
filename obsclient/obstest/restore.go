package obstest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Restore of archived (COLD / DEEP_ARCHIVE) objects
//
// GET of an archived object fails with 403 InvalidObjectState until it is
// restored. POST ?restore starts a restore that completes after the server's
// restore delay (Options.RestoreDelay, SetRestoreDelay; 0 = at once) or when
// the test calls CompleteRestores. HEAD reports progress in x-obs-restore.

// handleRestore: POST /<key>?restore[&versionId=].
func handleRestore(rc *reqCtx) error {
	if rc.b.pfs {
		return errFsNotSupport
	}
	days, err := rc.parseRestore()
	if err != nil {
		return err
	}
	now := rc.s.now()
	rc.s.cfgMu.RLock()
	delay := rc.s.restoreDelay
	rc.s.cfgMu.RUnlock()
	rc.b.mu.Lock()
	defer rc.b.mu.Unlock()
	v, err := rc.b.find(rc.key, rc.query.Get("versionId"))
	if err != nil {
		return err
	}
	switch {
	case v.DeleteMarker:
		return errNoSuchKey
	case !v.archived():
		return errInvalidObjectState
	case v.restoreOngoing(now):
		return errRestoreInProgress
	case v.restored(now):
		v.restore = &restoreState{doneAt: v.restore.doneAt, expiry: now.Add(time.Duration(days) * 24 * time.Hour)}
		return rc.noContent(http.StatusOK)
	}
	done := now.Add(delay)
	v.restore = &restoreState{doneAt: done, expiry: done.Add(time.Duration(days) * 24 * time.Hour)}
	return rc.noContent(http.StatusAccepted)
}

// parseRestore reads the RestoreRequest document and returns Days.
func (rc *reqCtx) parseRestore() (int, error) {
	var in xmlRestoreIn
	if err := rc.readXML(&in, 64<<10, false); err != nil {
		return 0, err
	}
	if in.XMLName.Local != "RestoreRequest" {
		return 0, errMalformedXML
	}
	days, err := strconv.Atoi(strings.TrimSpace(in.Days))
	if err != nil || days < 1 || days > 30 {
		return 0, invalidArgument("Days must be between 1 and 30")
	}
	tier := strings.TrimSpace(in.Tier1 + in.Tier2)
	switch tier {
	case "", "Expedited", "Standard", "Bulk":
	default:
		return 0, errMalformedXML
	}
	return days, nil
}

// setRestoreHeader reports restore progress of an archived version.
func (rc *reqCtx) setRestoreHeader(v *version, now time.Time) {
	switch {
	case v.restoreOngoing(now):
		rc.setHdr("restore", `ongoing-request="true"`)
	case v.restored(now):
		rc.setHdr("restore", `ongoing-request="false", expiry-date="`+v.restore.expiry.Format(http.TimeFormat)+`"`)
	}
}

// CompleteRestores finishes every ongoing restore now.
func (s *Server) CompleteRestores() {
	now := s.now()
	for _, name := range s.bucketNames() {
		b := s.bucket(name)
		b.mu.Lock()
		for _, vs := range b.objects {
			for _, v := range vs {
				if v.restoreOngoing(now) {
					v.restore = &restoreState{doneAt: now, expiry: now.Add(v.restore.expiry.Sub(v.restore.doneAt))}
				}
			}
		}
		b.mu.Unlock()
	}
}
