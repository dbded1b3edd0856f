package httpapi

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley"
	"github.com/parley-chat/parley/internal/app"
	"github.com/parley-chat/parley/internal/media"
)

// Files and media; documented in openapi/attachment.json and docs/media.md.
// Uploads and downloads stream and are not bound by RequestTimeout: their
// connection deadlines move forward while bytes flow (idleDeadline).
type (
	createUploadRequest struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	signedLink struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	avatarResponse struct {
		AvatarURL string            `json:"avatar_url"`
		Avatar    parley.Attachment `json:"avatar"`
	}
)

// idle is how long an upload or download may stall before it is cut.
const idle = 60 * time.Second

// userContentCSP sandboxes anything served from a user's file: no script,
// no plugins, no same-origin access even if a browser renders it.
const userContentCSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; sandbox"

func (s *Server) attachmentRoutes() {
	h := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.withTimeout(s.authed(fn)))
	}
	stream := func(pattern string, fn func(http.ResponseWriter, *http.Request, parley.Actor)) {
		s.mux.HandleFunc(pattern, s.authed(fn))
	}
	stream("POST /api/v1/attachments", s.uploadAttachment)
	h("GET /api/v1/attachments/{id}", s.getAttachment)
	h("DELETE /api/v1/attachments/{id}", s.deleteAttachment)
	s.mux.HandleFunc("GET /api/v1/attachments/{id}/content", s.serveAttachment(app.VariantOriginal))
	s.mux.HandleFunc("GET /api/v1/attachments/{id}/thumbnail", s.serveAttachment(app.VariantThumbnail))
	h("POST /api/v1/attachments/{id}/link", s.linkAttachment)

	h("POST /api/v1/uploads", s.createUpload)
	h("GET /api/v1/uploads/{id}", s.getUpload)
	stream("PUT /api/v1/uploads/{id}", s.putUploadPart)
	stream("POST /api/v1/uploads/{id}/complete", s.completeUpload)
	h("DELETE /api/v1/uploads/{id}", s.cancelUpload)

	stream("PUT /api/v1/me/avatar", s.setMyAvatar)
	stream("GET /api/v1/users/{id}/avatar", s.getUserAvatar)
	h("GET /api/v1/avatars", s.lookupAvatars)
	stream("PUT /api/v1/conversations/{id}/avatar", s.setConversationAvatar)
	stream("GET /api/v1/conversations/{id}/avatar", s.getConversationAvatar)
}

// idleDeadline pushes the connection's read (upload) or write (download)
// deadline forward as bytes flow, so large transfers are not cut by the
// server's fixed timeouts while a stalled one still is.
type idleDeadline struct {
	r     io.Reader
	rc    *http.ResponseController
	write bool
	last  time.Time
}

func (d *idleDeadline) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		d.last = now
		if d.write {
			_ = d.rc.SetWriteDeadline(now.Add(idle))
		} else {
			_ = d.rc.SetReadDeadline(now.Add(idle))
		}
	}
	return d.r.Read(p)
}

type idleReadSeeker struct {
	idleDeadline
	s io.Seeker
}

func (d *idleReadSeeker) Seek(off int64, whence int) (int64, error) { return d.s.Seek(off, whence) }

// uploadBody returns the request body as a stream with moving deadlines,
// and its declared length (-1 if chunked).
func uploadBody(w http.ResponseWriter, r *http.Request) (io.Reader, int64) {
	return &idleDeadline{r: r.Body, rc: http.NewResponseController(w)}, r.ContentLength
}

// uploadError turns a body read failure of the client into "cut short";
// an upload refused early (too large) also closes the connection rather
// than reading the rest of a huge body.
func (s *Server) uploadError(w http.ResponseWriter, r *http.Request, err error) {
	if parley.IsCode(err, parley.CodeTooLarge) || parley.IsCode(err, parley.CodeUnsupportedType) {
		w.Header().Set("Connection", "close")
	}
	s.writeError(w, r, err)
}

func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	body, n := uploadBody(w, r)
	name := r.URL.Query().Get("name")
	if name == "" {
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = params["filename"]
		}
	}
	att, err := s.app.UploadAttachment(r.Context(), actor, app.UploadInput{Name: name, Body: body, Size: n})
	if err != nil {
		s.uploadError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	att, err := s.app.Attachment(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, att)
}

func (s *Server) deleteAttachment(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.DeleteAttachment(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func variant(r *http.Request) (app.Variant, error) {
	switch v := r.URL.Query().Get("variant"); v {
	case "", "original":
		return app.VariantOriginal, nil
	case "thumbnail":
		return app.VariantThumbnail, nil
	default:
		return "", parley.Invalid("variant", "variant must be original or thumbnail")
	}
}

func (s *Server) linkAttachment(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	v, err := variant(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := r.PathValue("id")
	signed, err := s.app.SignAttachment(r.Context(), actor, id, v)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := "/api/v1/attachments/" + url.PathEscape(id) + "/content?"
	if v == app.VariantThumbnail {
		p = "/api/v1/attachments/" + url.PathEscape(id) + "/thumbnail?"
	}
	writeJSON(w, http.StatusOK, signedLink{URL: p + signed.Query, ExpiresAt: signed.ExpiresAt})
}

// serveAttachment serves a file to a member (bearer token) or to the holder
// of a signed link (?exp=&sig=, no token needed).
func (s *Server) serveAttachment(v app.Variant) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id := r.PathValue("id")
		if q.Has("sig") && bearerToken(r) == "" {
			f, err := s.app.OpenSignedAttachment(r.Context(), id, v, q.Get("exp"), q.Get("sig"))
			s.serveFile(w, r, f, err, "private, max-age=300")
			return
		}
		s.authed(func(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
			f, err := s.app.OpenAttachment(r.Context(), actor, id, v)
			s.serveFile(w, r, f, err, "private, max-age=31536000, immutable")
		})(w, r)
	}
}

// serveFile writes a stored file with the headers user content needs:
// Content-Disposition attachment (inline only for raster images), nosniff,
// a sandboxing CSP; Range and conditional requests via http.ServeContent.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f app.File, err error, cache string) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Content.Close()
	h := w.Header()
	h.Set("Content-Type", f.MIME)
	disp := "attachment"
	if media.InlineSafe(f.MIME) {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", userContentCSP)
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", cache)
	content := &idleReadSeeker{idleDeadline{r: f.Content, rc: http.NewResponseController(w), write: true}, f.Content}
	http.ServeContent(w, r, "", f.ModTime, content)
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var req createUploadRequest
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.app.CreateUpload(r.Context(), actor, req.Name, req.Size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/uploads/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) getUpload(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	u, err := s.app.GetUpload(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(u.Received, 10))
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) putUploadPart(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	off, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || off < 0 {
		s.writeError(w, r, parley.Invalid("offset", "offset must be the byte offset of the part (GET the upload to learn it)"))
		return
	}
	body, n := uploadBody(w, r)
	u, err := s.app.UploadPart(r.Context(), actor, r.PathValue("id"), off, body, n)
	if err != nil {
		s.uploadError(w, r, err)
		return
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(u.Received, 10))
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	att, err := s.app.CompleteUpload(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, att)
}

func (s *Server) cancelUpload(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	if err := s.app.CancelUpload(r.Context(), actor, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setMyAvatar(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	body, n := uploadBody(w, r)
	av, err := s.app.SetUserAvatar(r.Context(), actor, body, n)
	if err != nil {
		s.uploadError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, avatarResponse{AvatarURL: userAvatarPath(actor.UserID, av.ID), Avatar: av})
}

func (s *Server) lookupAvatars(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	var ids []string
	for _, v := range r.URL.Query()["user_ids"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	versions, err := s.app.UserAvatarVersions(r.Context(), actor, ids)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	paths := make(map[string]string, len(versions))
	for user, v := range versions {
		paths[user] = userAvatarPath(user, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"avatars": paths})
}

// userAvatarPath and conversationAvatarPath are where avatars are served;
// ?v= (the picture's version) changes with every new picture, so caches
// never show a stale one.
func userAvatarPath(userID, version string) string {
	return "/api/v1/users/" + userID + "/avatar?v=" + version
}

func conversationAvatarPath(convID, version string) string {
	return "/api/v1/conversations/" + convID + "/avatar?v=" + version
}

func (s *Server) getUserAvatar(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	f, err := s.app.OpenUserAvatar(r.Context(), actor, r.PathValue("id"))
	s.serveFile(w, r, f, err, avatarCache(r))
}

func (s *Server) setConversationAvatar(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	body, n := uploadBody(w, r)
	id := r.PathValue("id")
	c, err := s.app.SetConversationAvatar(r.Context(), actor, id, body, n,
		func(version string) string { return conversationAvatarPath(id, version) })
	if err != nil {
		s.uploadError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) getConversationAvatar(w http.ResponseWriter, r *http.Request, actor parley.Actor) {
	f, err := s.app.OpenConversationAvatar(r.Context(), actor, r.PathValue("id"))
	s.serveFile(w, r, f, err, avatarCache(r))
}

// avatarCache: a versioned avatar URL (?v=) never changes content.
func avatarCache(r *http.Request) string {
	if r.URL.Query().Get("v") != "" {
		return "private, max-age=31536000, immutable"
	}
	return "private, no-cache"
}
